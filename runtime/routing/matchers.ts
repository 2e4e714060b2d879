/**
 * What a rule matches a request on (Tornado's `Matcher`s): anything (`AnyMatches`), the host
 * (`HostMatches`, `DefaultHostMatches`), or the path (`PathMatches`, in ./path.ts). A custom
 * matcher is any object with `match(request)`.
 */

import type { HTTPServerRequest } from "../httputil/request.js";

/**
 * What a matcher found: the path groups for the handler (none for host or custom matchers).
 *
 * @example
 * const params: MatchParams = { pathArgs: ["42"], pathKwargs: {} };
 */
export interface MatchParams {
  /** Positional group values, still percent-encoded. */
  pathArgs?: (string | null)[];
  /** Named group values, still percent-encoded. */
  pathKwargs?: Record<string, string | null>;
}

/**
 * Decides whether a rule applies to a request (Tornado's `Matcher`): `match` returns the
 * parameters for the target (`{}` when there are none) or `null`; `reverse`, if present, builds
 * a URL for `reverseUrl` (or `null` when it cannot).
 *
 * @example
 * const apiKey: Matcher = { match: (request) => (request.headers.has("X-Api-Key") ? {} : null) };
 * new RuleRouter([[apiKey, apiApp], [new AnyMatches(), webApp]]);
 */
export interface Matcher {
  match(request: HTTPServerRequest): MatchParams | null;
  reverse?(...args: unknown[]): string | null;
}

const MATCHED: MatchParams = Object.freeze({});

/**
 * Matches every request (Tornado's `AnyMatches`): a catch-all rule, or a default at the end.
 *
 * @example
 * new RuleRouter([[new HostMatches("api\\.example\\.com"), api], [new AnyMatches(), web]]);
 */
export class AnyMatches implements Matcher {
  /** Always `{}`. @example new AnyMatches().match(request) // {} */
  match(_request: HTTPServerRequest): MatchParams {
    return MATCHED;
  }
}

/**
 * Matches requests whose host (`request.hostName`: the `Host` header without its port, lower
 * case) matches `hostPattern` from its start to its end, as Tornado's `HostMatches`. A string
 * is a regular expression (`.` must be escaped to mean a dot); a `RegExp` is used as given.
 *
 * @example
 * new HostMatches("(www\\.)?example\\.com").match(request) // {} for www.example.com:8080, else null
 */
export class HostMatches implements Matcher {
  /** The regular expression the host name is matched with. */
  readonly hostPattern: RegExp;

  constructor(hostPattern: string | RegExp) {
    if (typeof hostPattern === "string") {
      const source = hostPattern.startsWith("^") ? hostPattern.slice(1) : hostPattern;
      // Anchored at the start as Python's re.match, and at the end as Tornado adds "$".
      this.hostPattern = new RegExp(`^(?:${source.endsWith("$") ? source.slice(0, -1) : source})$`, "i");
    } else {
      this.hostPattern = hostPattern;
    }
  }

  /** `{}` when the request's host name matches, else `null`. @example m.match(request) */
  match(request: HTTPServerRequest): MatchParams | null {
    return this.hostPattern.test(request.hostName) ? MATCHED : null;
  }
}

/**
 * Matches any request when the application's `defaultHost` matches `hostPattern`, unless it
 * came through a proxy that sent `X-Real-Ip` (Tornado's `DefaultHostMatches`). `Application`
 * adds one for each `addHandlers(hostPattern, routes)` when the `defaultHost` setting is set,
 * so those routes also answer requests for hosts no pattern matches.
 *
 * @example
 * new DefaultHostMatches(app, new HostMatches("example\\.com").hostPattern);
 */
export class DefaultHostMatches implements Matcher {
  constructor(
    private readonly application: { readonly settings: { defaultHost?: string } },
    /** The host pattern whose routes this matcher stands for. */
    readonly hostPattern: RegExp,
  ) {}

  /** `{}` when `defaultHost` matches and there is no `X-Real-Ip`, else `null`. @example m.match(request) */
  match(request: HTTPServerRequest): MatchParams | null {
    const defaultHost = this.application.settings.defaultHost;
    if (defaultHost === undefined || request.headers.has("X-Real-Ip")) return null;
    return this.hostPattern.test(defaultHost) ? MATCHED : null;
  }
}
