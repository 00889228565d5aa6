package jsonscan

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

type member struct{ key, value string }

func members(t *testing.T, b string) ([]member, error) {
	t.Helper()
	var out []member
	err := Object([]byte(b), func(k, v []byte) error {
		out = append(out, member{string(k), string(v)})
		return nil
	})
	return out, err
}

func TestObject(t *testing.T) {
	tests := []struct {
		in   string
		want []member
	}{
		{`{}`, nil},
		{" \n{ }\t", nil},
		{`{"type":"a.b","timestamp":"2025-03-03T17:06:07.473879Z","data":{"x":[1,{"y":"}]"}]}}`, []member{
			{"type", `"a.b"`}, {"timestamp", `"2025-03-03T17:06:07.473879Z"`}, {"data", `{"x":[1,{"y":"}]"}]}`},
		}},
		{`{ "a" : 1 , "b":true,"c":null, "d" : -2.5e3 }`, []member{{"a", "1"}, {"b", "true"}, {"c", "null"}, {"d", "-2.5e3"}}},
		{`{"q":"say \"hi\" \\","r":[]}`, []member{{"q", `"say \"hi\" \\"`}, {"r", "[]"}}},
		{`{"k\"ey":"v"}`, []member{{`k\"ey`, `"v"`}}},
	}
	for _, tt := range tests {
		got, err := members(t, tt.in)
		require.NoError(t, err, tt.in)
		require.Equal(t, tt.want, got, tt.in)
	}
}

func TestObjectRejects(t *testing.T) {
	for _, in := range []string{
		``, `[]`, `"x"`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{"a":1 "b":2}`, `{"a":"x}`, `{"a":[1,2}`,
		`{"a":{"b":1]}`, `{"a":1}x`, `{"a":1}{}`, `{a:1}`, `{"a":@}`, `{"a":"\"}`,
	} {
		_, err := members(t, in)
		require.ErrorIs(t, err, ErrSyntax, "%q", in)
	}
}

func TestObjectStopsOnCallbackError(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := Object([]byte(`{"a":1,"b":2}`), func(k, v []byte) error { n++; return stop })
	require.ErrorIs(t, err, stop)
	require.Equal(t, 1, n)
}

func TestKeyIsAndUnquote(t *testing.T) {
	require.True(t, KeyIs([]byte("type"), "type"))
	require.True(t, KeyIs([]byte("Type"), "type"), "encoding/json matches keys without regard to case")
	require.True(t, KeyIs([]byte(`t\u0079pe`), "type"))
	require.False(t, KeyIs([]byte("types"), "type"))
	for raw, want := range map[string]string{`"plain"`: "plain", `"caf\u00e9"`: "café", `"tab\t"`: "tab\t", `"naïve"`: "naïve"} {
		got, err := Unquote([]byte(raw))
		require.NoError(t, err, raw)
		require.Equal(t, want, got)
	}
	_, err := Unquote([]byte(`12`))
	require.ErrorIs(t, err, ErrSyntax)
	require.True(t, IsNull([]byte("null")))
}

func TestDeepNestingIsBounded(t *testing.T) {
	deep := make([]byte, 0, 2*maxDepth+20)
	deep = append(deep, `{"a":`...)
	for range maxDepth + 1 {
		deep = append(deep, '[')
	}
	_, err := members(t, string(deep))
	require.ErrorIs(t, err, ErrSyntax)
}

// FuzzObject checks Object against encoding/json: on every object that
// encoding/json accepts, Object succeeds and finds the same members; on any
// input it never panics.
func FuzzObject(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"type":"x","data":{"a":[1,2,{"b":"c\"d"}]}}`, `{"a":1,"a":2}`, `{"A":1,"a":2}`,
		`{"k\u0041":"v"}`, `{"s":"\\\\\""}`, `{"a":[[[[]]]]}`, `[1]`, `{"a":"x`, ` {"a" : null } `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var ours []member
		err := Object(b, func(k, v []byte) error {
			ours = append(ours, member{string(k), string(v)})
			return nil
		})
		var theirs map[string]json.RawMessage
		if json.Unmarshal(b, &theirs) != nil || theirs == nil {
			return
		}
		require.NoError(t, err, "%q is an object encoding/json accepts", b)
		last := map[string]string{}
		for _, m := range ours {
			k, kerr := Unquote([]byte(`"` + m.key + `"`))
			require.NoError(t, kerr)
			last[k] = m.value
		}
		require.Len(t, last, len(theirs))
		for k, v := range theirs {
			require.Equal(t, string(v), last[k], "member %q of %q", k, b)
		}
	})
}
