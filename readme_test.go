package alguna_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// readmeMarker names the function a README Go block is an excerpt of.
var readmeMarker = regexp.MustCompile(`^<!-- code: (\S+) (\S+) -->$`)

// TestReadmeCodeIsCompiled keeps README.md honest: every Go block in it is
// an excerpt, line for line, of a function the test suite compiles (mostly
// Examples, which also run), named in a marker right above the block. A
// README block that drifts from the code fails here.
func TestReadmeCodeIsCompiled(t *testing.T) {
	data, err := os.ReadFile("README.md")
	require.NoError(t, err)
	lines := strings.Split(string(data), "\n")
	blocks := 0
	var file, fn string
	for i := 0; i < len(lines); i++ {
		if m := readmeMarker.FindStringSubmatch(strings.TrimSpace(lines[i])); m != nil {
			file, fn = m[1], m[2]
			continue
		}
		if strings.TrimSpace(lines[i]) != "```go" {
			continue
		}
		end := i + 1
		for end < len(lines) && strings.TrimSpace(lines[end]) != "```" {
			end++
		}
		require.NotEmpty(t, fn, "README.md:%d: a Go block needs a <!-- code: FILE FUNC --> marker above it", i+1)
		body := functionLines(t, file, fn)
		block := normalize(lines[i+1 : end])
		require.NotEmpty(t, block, "README.md:%d: empty Go block", i+1)
		require.True(t, contains(body, block),
			"README.md:%d: this block is not an excerpt of %s in %s:\n%s", i+1, fn, file, strings.Join(block, "\n"))
		blocks++
		file, fn = "", ""
		i = end
	}
	require.Positive(t, blocks, "README.md has no Go blocks")
}

// functionLines returns the normalized lines of a function's body.
func functionLines(t *testing.T, file, name string) []string {
	t.Helper()
	src, err := os.ReadFile(file)
	require.NoError(t, err)
	f, err := parser.ParseFile(token.NewFileSet(), file, src, parser.ParseComments)
	require.NoError(t, err)
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == name && fd.Body != nil {
			body := string(src[fd.Body.Lbrace+1-f.FileStart : fd.Body.Rbrace-f.FileStart])
			return normalize(strings.Split(body, "\n"))
		}
	}
	t.Fatalf("no function %s in %s", name, file)
	return nil
}

// normalize drops indentation, trailing space and blank lines, so that a
// README block may be indented differently from its source.
func normalize(lines []string) []string {
	var out []string
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// contains reports whether block is a contiguous run of body.
func contains(body, block []string) bool {
	for start := 0; start+len(block) <= len(body); start++ {
		match := true
		for j := range block {
			if body[start+j] != block[j] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}
