/**
 * The keys that occur more than once within one object of a JSON text, as
 * `path.key` (`$` is the top level). `JSON.parse` keeps the last of two equal
 * keys without a word, and a reviver only ever sees the survivor, so a log
 * line such as `{"projection":"x","projection":"x"}` needs a scan of its own:
 * this one walks the text token by token. Throws on text that is not JSON.
 */
export function repeatedKeys(json: string): string[] {
  const repeated: string[] = [];
  let i = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at ${i} in ${json.slice(0, 200)}`);
  };
  const space = () => {
    while (i < json.length && ' \t\n\r'.includes(json[i]!)) i++;
  };
  const string = (): string => {
    if (json[i] !== '"') fail('expected a string');
    const start = i++;
    while (i < json.length && json[i] !== '"') i += json[i] === '\\' ? 2 : 1;
    if (i >= json.length) fail('unterminated string');
    i++;
    return JSON.parse(json.slice(start, i)) as string;
  };
  const value = (path: string): void => {
    space();
    const c = json[i];
    if (c === '{') {
      i++;
      const seen = new Set<string>();
      space();
      if (json[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        space();
        const key = string();
        if (seen.has(key)) repeated.push(`${path}.${key}`);
        seen.add(key);
        space();
        if (json[i++] !== ':') fail('expected ":"');
        value(`${path}.${key}`);
        space();
        const next = json[i++];
        if (next === '}') return;
        if (next !== ',') fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      i++;
      space();
      if (json[i] === ']') {
        i++;
        return;
      }
      for (let n = 0; ; n++) {
        value(`${path}[${n}]`);
        space();
        const next = json[i++];
        if (next === ']') return;
        if (next !== ',') fail('expected "," or "]"');
      }
    }
    if (c === '"') {
      string();
      return;
    }
    const literal = /^(?:true|false|null|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(
      json.slice(i, i + 40),
    );
    if (!literal) fail('expected a value');
    i += literal![0].length;
  };
  value('$');
  space();
  if (i !== json.length) fail('trailing text');
  return repeated;
}
