/**
 * The `Application` type as handler modules name it, without importing web/application.ts
 * (which imports them): web/application.ts fills in `ApplicationTypes` by declaration merging.
 * This keeps the handler modules free of an import circle while `this.application` keeps its
 * exact type.
 */

/**
 * Filled in by web/application.ts: `{ application: Application; settings: ApplicationSettings }`.
 * @internal
 */
export interface ApplicationTypes {}

/** What a handler sees of its application when web/application.ts is not loaded (never, in practice). */
interface ApplicationFallback {
  readonly settings: Record<string, any>;
  reverseUrl(name: string, ...args: unknown[]): string;
  logRequest(handler: object): void;
}

/**
 * The `Application` class's instance type, for handler modules.
 *
 * @example
 * readonly application: ApplicationOf;
 */
export type ApplicationOf = ApplicationTypes extends { application: infer A } ? A : ApplicationFallback;

/**
 * `ApplicationSettings`, for handler modules.
 *
 * @example
 * get settings(): SettingsOf { return this.application.settings; }
 */
export type SettingsOf = ApplicationTypes extends { settings: infer S } ? S : Record<string, any>;
