package algunaotel

import (
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestClean(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		limit int
		want  string
	}{
		{"short", "req_1", 10, "req_1"},
		{"exactly the limit", "abcde", 5, "abcde"},
		{"ascii cut", "abcdef", 5, "abcde…"},
		{"cut inside a character backs off to its start", "ab€", 3, "ab…"},
		{"cut after a whole character", "ab€c", 5, "ab€…"},
		{"invalid bytes replaced", "a\xffb", 10, "a\uFFFDb"},
		{"a run of invalid bytes is one replacement", "a\xff\xfe\xfdb", 10, "a\uFFFDb"},
		{"replacement counts towards the limit", "\xff\xffabc", 4, "\uFFFDa…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := clean(tt.in, tt.limit)
			require.Equal(t, tt.want, got)
			require.True(t, utf8.ValidString(got))
		})
	}
}

func TestWithoutQuery(t *testing.T) {
	tests := map[string]string{
		"https://api.alguna.io/account-lookup?alias=a%40b.c": "https://api.alguna.io/account-lookup",
		"https://api.alguna.io/accounts#frag":                "https://api.alguna.io/accounts",
		"https://api.alguna.io/accounts":                     "https://api.alguna.io/accounts",
		"":                                                   "",
	}
	for in, want := range tests {
		require.Equal(t, want, withoutQuery(in), in)
	}
}
