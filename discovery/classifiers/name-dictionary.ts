/**
 * Common given names and family names of the languages pgveil's users write in most (English,
 * German, French, Spanish, Italian, Portuguese, Dutch), lowercased and without accents. A person
 * name column is one where many values contain one of them; a few misses do not matter.
 */
const GIVEN = `
james john robert michael william david richard joseph thomas charles christopher daniel matthew anthony mark donald steven paul andrew joshua
kenneth kevin brian george timothy ronald edward jason jeffrey ryan jacob gary nicholas eric jonathan stephen larry justin scott brandon benjamin
samuel gregory alexander frank patrick raymond jack dennis jerry tyler aaron jose adam nathan henry douglas zachary peter kyle ethan walter noah
jeremy christian keith roger terry gerald harold sean austin carl arthur lawrence dylan jesse jordan bryan billy joe bruce gabriel logan albert
willie alan juan wayne elijah randy roy vincent ralph eugene russell bobby mason philip louis harry oliver leo liam lucas tim ken tom sam ben dan
mary patricia jennifer linda elizabeth barbara susan jessica sarah karen lisa nancy betty margaret sandra ashley kimberly emily donna michelle
carol amanda dorothy melissa deborah stephanie rebecca sharon laura cynthia kathleen amy angela shirley anna brenda pamela emma nicole helen
samantha katherine christine debra rachel carolyn janet catherine maria heather diane ruth julie olivia joyce virginia victoria kelly lauren
christina joan evelyn judith megan andrea cheryl hannah jacqueline martha gloria teresa ann sara madison frances kathryn janice jean abigail
alice judy sophia grace denise amber doris marilyn danielle beverly isabella theresa diana natalie brittany charlotte marie kayla alexis lori ada
sophie mia ava chloe ella lily zoe ruby isla poppy freya alfie archie charlie harvey oscar finley
hans peter klaus jurgen wolfgang michael thomas andreas stefan frank uwe bernd ralf dieter gunter horst werner manfred helmut karl heinz gerhard
lukas leon finn jonas paul felix maximilian elias luis tim moritz jan niklas julian fabian florian tobias sebastian matthias markus christoph
ursula monika petra sabine renate helga karin brigitte ingrid erika andrea gisela claudia susanne gabriele birgit christa elke heike anja katrin
lena laura lea leonie hannah mia lina johanna sophie emilie marie luisa clara anna emma lisa julia sarah katharina nina jana
jean pierre michel andre philippe alain bernard jacques francois christian daniel patrick nicolas christophe stephane laurent sebastien julien
eric frederic olivier david pascal thierry guillaume antoine mathieu vincent louis hugo arthur jules gabriel raphael adam lucas theo nathan
marie nathalie isabelle sylvie catherine francoise martine christine monique valerie sandrine sophie celine stephanie veronique chantal
camille manon chloe ines lea jade louise alice juliette lina emma zoe elise amelie aurelie helene
jose antonio manuel francisco juan david javier jesus carlos daniel miguel rafael pedro angel alejandro fernando pablo jorge luis sergio alberto
alvaro diego adrian raul enrique ramon vicente andres joaquin santiago mateo hugo martin marcos
maria carmen ana isabel dolores pilar teresa rosa francisca cristina laura marta antonia elena lucia mercedes manuela rocio paula sara raquel
beatriz silvia patricia alba irene andrea julia sofia valeria martina ximena guadalupe
giuseppe giovanni antonio mario luigi francesco angelo vincenzo pietro salvatore carlo franco domenico bruno paolo michele giorgio aldo sergio
luca marco andrea alessandro matteo lorenzo leonardo riccardo davide simone federico gabriele tommaso edoardo
giulia francesca chiara sara valentina alessia martina elisa federica silvia paola anna rosa giuseppina lucia sofia aurora ginevra beatrice
joao jose antonio francisco carlos paulo pedro lucas luiz marcos luis gabriel rafael daniel marcelo bruno eduardo felipe raimundo rodrigo
gustavo guilherme matheus leonardo enzo heitor arthur bernardo davi miguel samuel vitor caio thiago otavio
maria ana francisca antonia adriana juliana marcia fernanda patricia aline sandra camila amanda bruna jessica leticia julia luana mariana
beatriz larissa gabriela vitoria isabela rafaela alice laura helena valentina manuela isadora lara livia cecilia yasmin
jan pieter kees henk willem dirk johannes cornelis gerrit bram daan sem lars ruben thijs jeroen sanne femke anouk eva fleur lotte iris
`;

const FAMILY = `
smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez lopez gonzalez wilson anderson thomas taylor moore jackson
martin lee perez thompson white harris sanchez clark ramirez lewis robinson walker young allen king wright scott torres nguyen hill flores green
adams nelson baker hall rivera campbell mitchell carter roberts turner phillips evans parker edwards collins stewart morris murphy cook rogers
morgan cooper peterson reed bailey bell kelly howard ward cox richardson wood watson brooks bennett gray james hughes price sanders myers long
ross foster powell jenkins perry russell sullivan butler barnes fisher henderson coleman simmons patterson jordan reynolds hamilton graham
lovelace hopper turing dijkstra liskov knuth allen thompson perlman berners
muller mueller schmidt schneider fischer weber meyer wagner becker schulz hoffmann schafer koch bauer richter klein wolf schroder neumann
schwarz zimmermann braun kruger hofmann hartmann lange schmitt werner krause meier lehmann schmid schulze maier kohler herrmann konig walter
martin bernard dubois thomas robert richard petit durand leroy moreau simon laurent lefebvre michel garcia david bertrand roux vincent fournier
morel girard andre lefevre mercier dupont lambert bonnet francois martinez legrand garnier faure rousseau blanc guerin muller henry roussel
garcia fernandez gonzalez rodriguez lopez martinez sanchez perez gomez martin jimenez ruiz hernandez diaz moreno alvarez munoz romero alonso
gutierrez navarro torres dominguez vazquez ramos gil ramirez serrano blanco molina morales suarez ortega delgado castro ortiz rubio marin
rossi russo ferrari esposito bianchi romano colombo ricci marino greco bruno gallo conti de luca mancini costa giordano rizzo lombardi moretti
silva santos oliveira souza rodrigues ferreira alves pereira lima gomes costa ribeiro martins carvalho almeida lopes soares fernandes vieira
barbosa rocha dias nascimento andrade moreira nunes marques machado mendes freitas cardoso ramos goncalves santana teixeira
de jong jansen de vries van den berg van dijk bakker janssen visser smit meijer de boer mulder de groot bos vos peters hendriks
`;

const words = (text: string): Set<string> => new Set(text.split(/\s+/).filter((w) => w.length > 1));

export const GIVEN_NAMES: ReadonlySet<string> = words(GIVEN);
export const FAMILY_NAMES: ReadonlySet<string> = words(FAMILY);

/** Lowercase, accents removed: `Müller` -> `muller`, `Éric` -> `eric`. */
export function fold(word: string): string {
  return word
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase();
}
