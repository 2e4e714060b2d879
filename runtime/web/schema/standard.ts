/**
 * The Standard Schema v1 and Standard JSON Schema v1 interfaces (https://standardschema.dev),
 * copied as the spec invites, so the runtime depends on no schema library. A leaf module.
 */

/**
 * A schema any Standard Schema v1 library builds (zod 4, valibot, arktype, …).
 *
 * @example
 * const s: StandardSchemaV1<unknown, { id: number }> = z.object({ id: z.number() });
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly "~standard": StandardSchemaV1.Props<Input, Output>;
}

/** The types of the Standard Schema v1 interface. @example type Out = StandardSchemaV1.InferOutput<typeof s>; */
export declare namespace StandardSchemaV1 {
  /** What a schema carries under `~standard`. */
  export interface Props<Input = unknown, Output = Input> {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => Result<Output> | Promise<Result<Output>>;
    readonly types?: Types<Input, Output> | undefined;
    /** Standard JSON Schema v1: present when the library converts its schemas itself. */
    readonly jsonSchema?: JSONSchemaConverter | undefined;
  }
  /** The result of `validate`. */
  export type Result<Output> = SuccessResult<Output> | FailureResult;
  /** A value that passed. */
  export interface SuccessResult<Output> {
    readonly value: Output;
    readonly issues?: undefined;
  }
  /** A value that failed, with why. */
  export interface FailureResult {
    readonly issues: ReadonlyArray<Issue>;
  }
  /** One reason a value failed, and where. */
  export interface Issue {
    readonly message: string;
    readonly path?: ReadonlyArray<PropertyKey | PathSegment> | undefined;
  }
  /** One step of an issue's path, as some libraries give it. */
  export interface PathSegment {
    readonly key: PropertyKey;
  }
  /** The input and output types, for inference only. */
  export interface Types<Input = unknown, Output = Input> {
    readonly input: Input;
    readonly output: Output;
  }
  /** The input type of a schema. */
  export type InferInput<Schema extends StandardSchemaV1> = NonNullable<Schema["~standard"]["types"]>["input"];
  /** The output type of a schema: what validation returns. */
  export type InferOutput<Schema extends StandardSchemaV1> = NonNullable<Schema["~standard"]["types"]>["output"];
}

/**
 * The Standard JSON Schema v1 converter a library may put at `~standard.jsonSchema`
 * (zod 4.2+ and arktype 2.1+ do; valibot through `toStandardJsonSchema`).
 *
 * @example
 * schema["~standard"].jsonSchema?.input({ target: "draft-2020-12" })
 */
export interface JSONSchemaConverter {
  readonly input: (options: { readonly target: string; readonly libraryOptions?: Record<string, unknown> }) => Record<string, unknown>;
  readonly output: (options: { readonly target: string; readonly libraryOptions?: Record<string, unknown> }) => Record<string, unknown>;
}
