/**
 * `next` now for a value, or once a promise resolves. Most gate answers are ready at once (a cached
 * rewrite): the hot path stays free of promise hops, and only a gate that must wait costs one.
 */
export function then<T, U>(value: T | Promise<T>, next: (value: T) => U | Promise<U>): U | Promise<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}
