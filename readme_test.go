// Package flowbar_test checks that the Go code in README.md compiles as
// it is shown: every block is either a whole program kept in examples/ or
// a fragment kept in readme_snippets_test.go, and this test checks that
// the README holds exactly that code.
package flowbar_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wholePrograms are the README's blocks that are whole files.
var wholePrograms = []string{"examples/quickstart/main.go"}

var goBlock = regexp.MustCompile("(?s)```go\n(.*?)```\n")

var snippet = regexp.MustCompile(`(?s)\t// README:begin\n(.*?)\t// README:end\n`)

// topSnippet is a block of top-level declarations (types, methods).
var topSnippet = regexp.MustCompile(`(?ms)^// README:begin\n(.*?)^// README:end\n`)

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestReadmeCode(t *testing.T) {
	readme := read(t, "README.md")
	var blocks []string
	for _, m := range goBlock.FindAllStringSubmatch(readme, -1) {
		blocks = append(blocks, m[1])
	}
	if len(blocks) == 0 {
		t.Fatal("no Go code block in README.md")
	}
	kept := map[string]string{} // code: where it is kept
	for _, path := range wholePrograms {
		kept[read(t, path)] = path
	}
	for _, m := range snippet.FindAllStringSubmatch(read(t, "readme_snippets_test.go"), -1) {
		var lines []string
		for _, l := range strings.SplitAfter(m[1], "\n") {
			lines = append(lines, strings.TrimPrefix(l, "\t"))
		}
		kept[strings.Join(lines, "")] = "readme_snippets_test.go"
	}
	for _, m := range topSnippet.FindAllStringSubmatch(read(t, "readme_snippets_test.go"), -1) {
		kept[strings.TrimRight(m[1], "\n")+"\n"] = "readme_snippets_test.go"
	}
	used := map[string]bool{}
	for i, b := range blocks {
		if _, ok := kept[b]; !ok {
			t.Errorf("README.md's Go block %d is not kept in a compiled file (add it to readme_snippets_test.go or update it there):\n%s", i+1, b)
		}
		used[b] = true
	}
	for code, where := range kept {
		if !used[code] {
			t.Errorf("%s keeps code that README.md does not show:\n%s", where, code)
		}
	}
}
