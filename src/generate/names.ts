/** One naming convention for everything a generator writes, whatever case the user typed. */

import { UserError } from "../cli/errors.js";

/**
 * The names a handler generator derives from what the user typed.
 *
 * @example
 * resourceNames("UserProfile").collectionRoute // "/user-profiles"
 */
export interface ResourceNames {
  /** The words, lower case: `["user", "profile"]`. */
  words: string[];
  /** File base name, as typed but in kebab case: `user-profile` (→ `src/handlers/user-profile.ts`). */
  file: string;
  /** One item's type: `UserProfile`. */
  type: string;
  /** The item handler class: `UserProfileHandler`. */
  itemClass: string;
  /** The collection handler class: `UserProfilesHandler`. */
  collectionClass: string;
  /** `/user-profiles`. */
  collectionRoute: string;
  /** `/user-profiles/:id`. */
  itemRoute: string;
  /** Route names for `reverseUrl`: `user-profiles` and `user-profile`. */
  collectionRouteName: string;
  itemRouteName: string;
  /** A WebSocket handler class for the name as typed: `UserProfileSocket`. */
  socketClass: string;
  /** For prose in generated comments: `user profile`, `user profiles`. */
  singularText: string;
  pluralText: string;
  /** The singular with its article, for prose: `a user profile`, `an order`. */
  singularWithArticle: string;
}

// Words whose plural does not follow the rules below (the usual suspects in resource names).
// Maps, not object literals: a typed name such as "constructor" must not find Object.prototype.
const IRREGULAR = new Map<string, string>(Object.entries({
  person: "people",
  child: "children",
  man: "men",
  woman: "women",
  mouse: "mice",
  goose: "geese",
  foot: "feet",
  tooth: "teeth",
  cache: "caches",
  movie: "movies",
  cookie: "cookies",
  leaf: "leaves",
  life: "lives",
  knife: "knives",
  hero: "heroes",
  potato: "potatoes",
  index: "indices",
  matrix: "matrices",
  criterion: "criteria",
  analysis: "analyses",
}));
const SINGULAR_OF = new Map<string, string>([...IRREGULAR].map(([one, many]) => [many, one]));
/**
 * Words with one form for one and many (`health`, not `healths`). Their resource keeps that one
 * form in its routes (`/health`, `/health/:id`); the collection handler class gets a `List`
 * suffix so the two classes differ (`HealthListHandler`, `HealthHandler`).
 *
 * @example
 * UNCOUNTABLE.has("feedback") // true
 */
export const UNCOUNTABLE: ReadonlySet<string> = new Set([
  "news", "series", "species", "sheep", "fish", "deer", "data", "metadata", "info", "information", "equipment", "feedback",
  "media", "software", "hardware", "health", "inventory", "traffic", "weather", "music", "advice", "evidence",
  "knowledge", "progress", "research", "staff", "analytics", "stuff", "cash", "money", "furniture", "luggage",
]);

const VOWEL = /[aeiou]/;

// "an" goes by the sound: most vowel letters take it, but "user" and "one" start with a
// consonant sound and "hour" with a vowel sound.
const CONSONANT_SOUND = /^(u[bcfklnrst][aeiou]|uni|use|usu|ur[aeio]|eu|ewe|one|once)/;
const VOWEL_SOUND = /^(hour|honest|honou?r|heir)/;

/**
 * `text` with the indefinite article that reads right before it.
 *
 * @example
 * withArticle("order")   // "an order"
 * withArticle("user")    // "a user"
 */
export function withArticle(text: string): string {
  const lower = text.toLowerCase();
  const an = VOWEL_SOUND.test(lower) || (/^[aeiou]/.test(lower) && !CONSONANT_SOUND.test(lower));
  return `${an ? "an" : "a"} ${text}`;
}

/**
 * The singular of an English noun, by the common rules plus a short list of exceptions.
 *
 * @example
 * singularize("addresses") // "address"
 */
export function singularize(word: string): string {
  if (UNCOUNTABLE.has(word) || IRREGULAR.has(word)) return word;
  const irregular = SINGULAR_OF.get(word);
  if (irregular !== undefined) return irregular;
  if (word.endsWith("ss") || word.endsWith("us") || word.endsWith("is")) return word;
  if (/[^aeiou]ies$/.test(word)) return `${word.slice(0, -3)}y`;
  if (/(sses|xes|zzes|ches|shes)$/.test(word)) return word.slice(0, -2);
  // statuses, buses, viruses → strip "es"; houses, causes → strip "s".
  if (word.endsWith("uses") && word.length > 4 && !VOWEL.test(word[word.length - 5]!)) return word.slice(0, -2);
  if (word.endsWith("s") && word.length > 1) return word.slice(0, -1);
  return word;
}

/**
 * The plural of an English noun (already-plural words are returned as they are).
 *
 * @example
 * pluralize("category") // "categories"
 */
export function pluralize(word: string): string {
  const one = singularize(word);
  if (UNCOUNTABLE.has(one)) return one;
  const irregular = IRREGULAR.get(one);
  if (irregular !== undefined) return irregular;
  if (/[^aeiou]y$/.test(one)) return `${one.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/.test(one)) return `${one}es`;
  return `${one}s`;
}

/**
 * Splits a name typed in any case into lower-case words: `user-profile`, `user_profile`,
 * `UserProfile` and `userProfile` all give `["user", "profile"]`.
 *
 * @example
 * splitWords("HTTPLogEntry") // ["http", "log", "entry"]
 */
export function splitWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .split(/[\s_-]+/)
    .filter(Boolean)
    .map((word) => word.toLowerCase());
}

const pascal = (words: string[]) => words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join("");

/**
 * Derives every name a handler generator uses from the name the user typed; a name that
 * cannot become a file and a class is a `UserError`.
 *
 * @example
 * resourceNames("users").itemClass // "UserHandler"
 */
export function resourceNames(typed: string): ResourceNames {
  if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(typed)) {
    throw new UserError(`"${typed}" is not a usable name: use letters, digits, "-" or "_", starting with a letter (for example user-profile).`);
  }
  const words = splitWords(typed);
  const last = words[words.length - 1]!;
  const singular = [...words.slice(0, -1), singularize(last)];
  const plural = [...words.slice(0, -1), pluralize(last)];
  const sameWord = singular.join("-") === plural.join("-");
  return {
    words,
    file: words.join("-"),
    type: pascal(singular),
    itemClass: `${pascal(singular)}Handler`,
    // "news" has one form: the collection handler needs a name of its own.
    collectionClass: `${pascal(plural)}${sameWord ? "List" : ""}Handler`,
    collectionRoute: `/${plural.join("-")}`,
    itemRoute: `/${plural.join("-")}/:id`,
    collectionRouteName: sameWord ? `${plural.join("-")}-list` : plural.join("-"),
    itemRouteName: singular.join("-"),
    socketClass: `${pascal(words)}Socket`,
    singularText: singular.join(" "),
    pluralText: plural.join(" "),
    singularWithArticle: withArticle(singular.join(" ")),
  };
}
