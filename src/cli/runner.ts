/** Runs a command body, turning errors into the CLI's exit code and error output. */
export type CliRunner = (json: boolean, body: () => Promise<void>) => Promise<void>;
