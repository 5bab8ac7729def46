/** A few lines of DOM building: every value goes in as text, never as HTML. */

type Child = Node | string | null | undefined | false

/** Makes `<tag>` with attributes (`class`, `data-*`, `title`, ...) and children (strings become text). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Record<string, string | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) if (value !== undefined) node.setAttribute(name, value)
  for (const child of children) if (child !== null && child !== undefined && child !== false) node.append(child)
  return node
}

/** Replaces the children of `parent`. */
export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false))
}

/** The element with this id (the page has it: index.html). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id)
  if (!node) throw new Error(`index.html lacks #${id}`)
  return node as T
}

/** A cell showing `text`, carrying the exact value it was formatted from (title and data-value). */
export function valueCell(text: string, exact: unknown, className?: string): HTMLTableCellElement {
  const value = exact === null || exact === undefined ? undefined : String(exact)
  return el('td', { class: className, title: value, 'data-value': value }, text)
}
