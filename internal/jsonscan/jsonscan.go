// Package jsonscan walks the top level of a JSON object without decoding
// what the caller does not need. Verifying a webhook and reading the
// Batcher's answers each want two or three fields of a body whose bulk they
// pass on untouched; a full encoding/json pass over that bulk was most of
// their cost.
package jsonscan

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"unicode/utf8"
)

// ErrSyntax is wrapped by every error about malformed input.
var ErrSyntax = errors.New("malformed JSON")

// maxDepth bounds nesting, so that a hostile body cannot make the scanner's
// stack of open brackets grow without limit.
const maxDepth = 10000

// Object calls fn with the raw key (the bytes between its quotes, escapes
// undecoded) and the raw value of each member of the JSON object that b
// holds, in order. It checks the structure throughout — the object is
// well formed, strings end, brackets balance and match, nothing follows the
// object — but not the grammar of numbers and literals inside values, nor
// escapes inside strings: callers decode the values they use, which checks
// those. An error from fn stops the walk and is returned as it is.
func Object(b []byte, fn func(key, value []byte) error) error {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return syntax(i, "not an object")
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return end(b, i+1)
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return syntax(i, "expected a member name")
		}
		keyEnd, err := skipString(b, i)
		if err != nil {
			return err
		}
		key := b[i+1 : keyEnd-1]
		i = skipSpace(b, keyEnd)
		if i >= len(b) || b[i] != ':' {
			return syntax(i, "expected ':'")
		}
		i = skipSpace(b, i+1)
		valueEnd, err := skipValue(b, i)
		if err != nil {
			return err
		}
		if err := fn(key, b[i:valueEnd]); err != nil {
			return err
		}
		i = skipSpace(b, valueEnd)
		if i >= len(b) {
			return syntax(i, "unexpected end")
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return end(b, i+1)
		default:
			return syntax(i, "expected ',' or '}'")
		}
	}
}

// KeyIs reports whether a raw key from Object names field, matching as
// encoding/json does: exactly, or else without regard to case.
func KeyIs(key []byte, field string) bool {
	if bytes.IndexByte(key, '\\') < 0 {
		return string(key) == field || bytes.EqualFold(key, []byte(field))
	}
	var k string
	if json.Unmarshal(append(append([]byte{'"'}, key...), '"'), &k) != nil {
		return false
	}
	return k == field || bytes.EqualFold([]byte(k), []byte(field))
}

// Unquote decodes a raw JSON string value, quotes included. Plain strings
// take a fast path; anything with escapes goes through encoding/json.
func Unquote(raw []byte) (string, error) {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' {
		inner := raw[1 : len(raw)-1]
		if plain(inner) {
			return string(inner), nil
		}
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%w: %w", ErrSyntax, err)
	}
	return s, nil
}

// IsNull reports whether a raw value is the literal null.
func IsNull(raw []byte) bool { return string(raw) == "null" }

func plain(s []byte) bool {
	for _, c := range s {
		if c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return utf8.Valid(s)
}

func end(b []byte, i int) error {
	if i = skipSpace(b, i); i != len(b) {
		return syntax(i, "data after the object")
	}
	return nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// skipValue returns the index just past the value that starts at b[i].
func skipValue(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, syntax(i, "expected a value")
	}
	switch c := b[i]; {
	case c == '"':
		return skipString(b, i)
	case c == '{' || c == '[':
		return skipNested(b, i)
	case c == '-' || c >= '0' && c <= '9' || c == 't' || c == 'f' || c == 'n':
		j := i + 1
		for j < len(b) && !delimiter(b[j]) {
			j++
		}
		return j, nil
	default:
		return 0, syntax(i, "expected a value")
	}
}

func delimiter(c byte) bool {
	switch c {
	case ',', '}', ']', ':', ' ', '\t', '\n', '\r', '"', '{', '[':
		return true
	}
	return false
}

// skipString returns the index just past the string that starts at b[i],
// which is a quote. It looks at eight bytes at a time for a quote or a
// backslash, since strings are most of what a body holds.
func skipString(b []byte, i int) (int, error) {
	j := i + 1
	for {
		for j+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[j:])
			if m := hasByte(x, '"') | hasByte(x, '\\'); m != 0 {
				// The lowest marked byte is exact; any above it may not be.
				j += bits.TrailingZeros64(m) >> 3
				break
			}
			j += 8
		}
		for j < len(b) && b[j] != '"' && b[j] != '\\' {
			j++
		}
		if j >= len(b) {
			return 0, syntax(len(b), "unterminated string")
		}
		if b[j] == '"' {
			return j + 1, nil
		}
		j += 2 // a backslash and the character it escapes
	}
}

// hasByte marks, in the top bit of each byte, the bytes of x equal to c.
func hasByte(x uint64, c byte) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	y := x ^ ones*uint64(c)
	return (y - ones) &^ y & highs
}

// structural marks the bytes skipNested stops at.
var structural = [256]bool{'{': true, '}': true, '[': true, ']': true, '"': true}

// skipNested returns the index just past the object or array that starts at
// b[i], checking that brackets balance and match.
func skipNested(b []byte, i int) (int, error) {
	var stack [32]byte
	open := stack[:0]
	for j := i; j < len(b); j++ {
		for !structural[b[j]] {
			if j++; j == len(b) {
				return 0, syntax(len(b), "unterminated object or array")
			}
		}
		switch c := b[j]; c {
		case '{', '[':
			if len(open) == maxDepth {
				return 0, syntax(j, "nested too deeply")
			}
			open = append(open, c+2) // '{'+2 == '}', '['+2 == ']'
		case '}', ']':
			if len(open) == 0 || open[len(open)-1] != c {
				return 0, syntax(j, "mismatched bracket")
			}
			open = open[:len(open)-1]
			if len(open) == 0 {
				return j + 1, nil
			}
		case '"':
			e, err := skipString(b, j)
			if err != nil {
				return 0, err
			}
			j = e - 1
		}
	}
	return 0, syntax(len(b), "unterminated object or array")
}

func syntax(offset int, what string) error {
	return fmt.Errorf("%w at offset %d: %s", ErrSyntax, offset, what)
}
