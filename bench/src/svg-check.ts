/**
 * A small well-formedness check for the SVG the bench writes (the tests use it; there is no XML
 * parser in Node): every element closed in order, no attribute twice in one tag, attribute values
 * quoted, text free of raw '<' and of '&' that does not start an entity.
 */
export function wellFormedProblems(xml: string): string[] {
  const problems: string[] = [];
  const open: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/y;
  const attribute = /([\w:.-]+)="[^"<]*"/g;
  let position = 0;
  while (position < xml.length) {
    const next = xml.indexOf("<", position);
    const textEnd = next < 0 ? xml.length : next;
    const text = xml.slice(position, textEnd);
    if (/&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(text)) problems.push(`a bare '&' in text near offset ${position}`);
    if (next < 0) break;
    tag.lastIndex = next;
    const match = tag.exec(xml);
    if (!match) {
      problems.push(`a malformed tag at offset ${next}: ${xml.slice(next, next + 60)}`);
      break;
    }
    const [whole, closing, name, attributes = "", selfClosing] = match;
    const names = [...attributes.matchAll(attribute)].map((found) => found[1]);
    const repeated = names.find((one, index) => names.indexOf(one) !== index);
    if (repeated) problems.push(`<${name}> has the attribute ${repeated} twice`);
    if (closing) {
      const expected = open.pop();
      if (expected !== name) problems.push(`</${name}> closes <${expected ?? "nothing"}>`);
    } else if (!selfClosing) {
      open.push(name!);
    }
    position = next + whole.length;
  }
  if (open.length > 0) problems.push(`unclosed elements: ${open.join(", ")}`);
  return problems;
}
