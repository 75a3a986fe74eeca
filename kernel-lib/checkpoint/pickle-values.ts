/**
 * The values an unpickled weights file is made of, as plain JavaScript:
 *
 * | Python                     | here                                              |
 * |----------------------------|---------------------------------------------------|
 * | None, bool, str            | null, boolean, string                             |
 * | int                        | number when a safe integer, else bigint           |
 * | float                      | number                                            |
 * | list                       | a mutable array                                   |
 * | tuple                      | a frozen array (`isTuple`)                        |
 * | dict                       | Map (keys: str, int, bool, None)                  |
 * | collections.OrderedDict    | PickleOrderedDict (a Map with BUILD attributes)   |
 * | an allowlisted global      | PickleGlobal (data only: never a JS function)     |
 * | what a global builds       | PickleObject (e.g. a lazy tensor reference)       |
 */

export type PickleKey = string | number | bigint | boolean | null;

/** An object built by an allowlisted global; `pickleType` names it in messages (`torch.Tensor`). */
export interface PickleObject {
  readonly pickleType: string;
}

export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PickleValue[]
  | readonly PickleValue[]
  | Map<PickleKey, PickleValue>
  | PickleGlobal
  | PickleObject;

/**
 * An allowlisted global (`collections.OrderedDict`). It is data: REDUCE hands its arguments to
 * `reduce`, a builder written in this library that only makes values. A global without
 * `reduce` (a storage class) can only be passed around, never applied.
 */
export interface PickleGlobal {
  readonly pickleType: 'global';
  /** Dotted name, `torch._utils._rebuild_tensor_v2`. */
  readonly name: string;
  readonly reduce?: (args: readonly PickleValue[]) => PickleValue;
}

/** `collections.OrderedDict`: a Map whose instance attributes (`_metadata`) BUILD may set. */
export class PickleOrderedDict extends Map<PickleKey, PickleValue> {
  readonly pickleType = 'collections.OrderedDict';
  /** Instance attributes from BUILD (a state_dict's `_metadata`). */
  readonly attributes = new Map<string, PickleValue>();
}

/** A Python tuple: a frozen array. */
export function tuple(items: PickleValue[]): readonly PickleValue[] {
  return Object.freeze(items);
}

export function isTuple(v: PickleValue): v is readonly PickleValue[] {
  return Array.isArray(v) && Object.isFrozen(v);
}

export function isList(v: PickleValue): v is PickleValue[] {
  return Array.isArray(v) && !Object.isFrozen(v);
}

export function isDict(v: PickleValue): v is Map<PickleKey, PickleValue> {
  return v instanceof Map;
}

export function isGlobal(v: PickleValue): v is PickleGlobal {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Map) && (v as PickleObject).pickleType === 'global';
}

/** A Python-ish type name for messages: `int`, `tuple`, `dict`, `torch.Tensor`. */
export function pickleTypeName(v: PickleValue): string {
  if (v === null) return 'None';
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isInteger(v) ? 'int' : 'float';
    case 'bigint':
      return 'int';
    case 'string':
      return 'str';
    default:
      if (Array.isArray(v)) return isTuple(v) ? 'tuple' : 'list';
      if (v instanceof PickleOrderedDict) return 'collections.OrderedDict';
      if (v instanceof Map) return 'dict';
      if (isGlobal(v)) return `global ${v.name}`;
      return (v as PickleObject).pickleType;
  }
}

/** A safe integer from an int value, or undefined. */
export function asInt(v: PickleValue): number | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  return undefined;
}
