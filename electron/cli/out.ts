// Where a command writes: lines to standard output and to standard error (tests pass their own).
export type Out = { log(line: string): void; err(line: string): void };
export const stdio: Out = { log: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) };
