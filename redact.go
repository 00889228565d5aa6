package alguna

import (
	"fmt"
	"log/slog"
)

// secretKey returns the Authorization header value. It is a function, not a
// string, because fmt prints the unexported fields of a struct by reflection,
// without calling their methods, and a function prints as an address: a
// Client printed by mistake, or a struct of the caller's that holds one,
// leaks nothing. Its methods cover the forms that do call them.
type secretKey func() string

func newSecretKey(apiKey string) secretKey {
	header := "Bearer " + apiKey
	return func() string { return header }
}

const redacted = "[redacted]"

// String implements fmt.Stringer.
func (secretKey) String() string { return redacted }

// GoString implements fmt.GoStringer.
func (secretKey) GoString() string { return redacted }

// Format implements fmt.Formatter for every verb, %x included.
func (secretKey) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }

// LogValue implements slog.LogValuer.
func (secretKey) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText makes encoders that honour it (encoding/json, slog's JSON
// handler) write the placeholder too.
func (secretKey) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// authorization is the value of the Authorization header.
func (c *Client) authorization() string { return c.key() }

// String describes the client by its API host; the key is never shown.
func (c Client) String() string {
	return fmt.Sprintf("alguna.Client{baseURL: %s, apiKey: %s}", c.baseURL, redacted)
}

// GoString is String, for %#v.
func (c Client) GoString() string { return c.String() }

// Format writes String for every verb, so that no verb (%x, %+v) reaches
// the fields.
func (c Client) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue makes slog log the client as its host only.
func (c Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("baseURL", c.baseURL), slog.String("apiKey", redacted))
}
