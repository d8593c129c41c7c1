/**
 * A dynamic provider's Check answer from a validation function: a bad input (InvalidInputError, which
 * names it) is a failure on that input, which `pulumi preview` prints under the resource; any other
 * error is the provider's own and is thrown.
 */
export interface CheckAnswer<T> {
  inputs: T;
  failures?: Array<{ property: string; reason: string }>;
}

export function checkInputs<T>(news: T, validate: (i: T) => void): CheckAnswer<T> {
  try {
    validate(news);
    return { inputs: news };
  } catch (err) {
    const input = (err as { input?: unknown }).input;
    if (typeof input !== 'string') throw err;
    // The top-level input: `store.url` is a failure of `store`.
    return { inputs: news, failures: [{ property: input.split('.')[0], reason: (err as Error).message }] };
  }
}
