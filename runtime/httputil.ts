/**
 * HTTP utilities shared by the server and handlers, as Tornado's `tornado.httputil`: headers,
 * the request object, body parsing, status phrases, `urlConcat`.
 *
 * @example
 * import { HTTPHeaders, HTTPServerRequest, parseQsBytes, responses, urlConcat } from "tornado/httputil";
 */
export { HTTPHeaders, assertValidHeader, type HTTPHeadersInit } from "./httputil/headers.js";
export {
  HTTPInputError,
  checkBodyArguments,
  countFormFields,
  emptyArguments,
  parseBodyArguments,
  parseHeaderParams,
  parseMultipartFormData,
  parseQsBytes,
  type ArgumentMap,
  type BodyLimits,
  type HTTPFile,
  type MultipartLimits,
} from "./httputil/body.js";
export {
  HTTPServerRequest,
  formatTimestamp,
  responses,
  splitHostAndPort,
  type HTTPConnection,
  type HTTPServerRequestInit,
} from "./httputil/request.js";
export { urlConcat, type QueryArgs, type QueryValue } from "./httputil/url-concat.js";
