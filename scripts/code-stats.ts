// Code shape in numbers, for reviews of the folder tree: files per folder under src/ and the longest
// functions (by lines, counted from the TypeScript syntax tree). Run: `npx tsx scripts/code-stats.ts [--top N]`.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import ts from 'typescript'

interface FunctionLength {
  name: string
  file: string
  line: number
  lines: number
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry)
    if (statSync(path).isDirectory()) return sourceFiles(path)
    return path.endsWith('.ts') ? [path] : []
  })
}

function functionName(node: ts.Node): string {
  if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) && node.name) return node.name.getText()
  if (ts.isConstructorDeclaration(node)) return 'constructor'
  const parent = node.parent
  if (parent && ts.isVariableDeclaration(parent)) return parent.name.getText()
  if (parent && ts.isPropertyAssignment(parent)) return parent.name.getText()
  return '(anonymous)'
}

/** Every function-like node with a body, named and measured in source lines (first to last line). */
function functionLengths(file: string, root: string): FunctionLength[] {
  const text = readFileSync(file, 'utf8')
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true)
  const found: FunctionLength[] = []
  const visit = (node: ts.Node): void => {
    const isFunction =
      ts.isFunctionDeclaration(node) ||
      ts.isMethodDeclaration(node) ||
      ts.isConstructorDeclaration(node) ||
      ts.isArrowFunction(node) ||
      ts.isFunctionExpression(node)
    if (isFunction && node.body) {
      const start = source.getLineAndCharacterOfPosition(node.getStart(source)).line
      const end = source.getLineAndCharacterOfPosition(node.getEnd()).line
      found.push({ name: functionName(node), file: relative(root, file), line: start + 1, lines: end - start + 1 })
    }
    ts.forEachChild(node, visit)
  }
  visit(source)
  return found
}

function filesPerFolder(files: string[], root: string): Map<string, number> {
  const counts = new Map<string, number>()
  for (const file of files) {
    const folder = relative(root, file).split('/').slice(0, -1).join('/')
    counts.set(folder, (counts.get(folder) ?? 0) + 1)
  }
  return new Map([...counts].sort(([a], [b]) => a.localeCompare(b)))
}

function main(): void {
  const root = process.cwd()
  const topIndex = process.argv.indexOf('--top')
  const top = topIndex > 0 ? Number(process.argv[topIndex + 1]) : 15
  const files = sourceFiles(join(root, 'src'))
  console.log(`## Files per folder (${files.length} .ts files under src/)\n`)
  console.log('| folder | files |\n|---|---:|')
  for (const [folder, count] of filesPerFolder(files, root)) console.log(`| ${folder} | ${count} |`)
  const longest = files
    .flatMap((file) => functionLengths(file, root))
    .sort((a, b) => b.lines - a.lines)
    .slice(0, top)
  console.log(`\n## The ${top} longest functions\n`)
  console.log('| lines | function | where |\n|---:|---|---|')
  for (const f of longest) console.log(`| ${f.lines} | ${f.name} | ${f.file}:${f.line} |`)
}

main()
