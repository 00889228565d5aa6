package alguna

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// This file writes events as POST /events takes them, and reads them back.
// The Batcher encodes each event once, at Enqueue, and keeps only the bytes:
// they are what is sent, what the spool stores, and what OnFailure's events
// are read back from.

// encodeEvents writes events as the JSON array POST /events takes.
func encodeEvents(events []Event) rawJSON {
	size := 2
	for i := range events {
		e := &events[i]
		// Field names, quotes and timestamp take about 90 bytes; a property
		// about 30 beyond its name.
		size += 90 + len(e.UniqueID) + len(e.Account) + len(e.EventName) + 30*len(e.Properties)
	}
	buf := make([]byte, 0, size)
	buf = append(buf, '[')
	for i := range events {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendEvent(buf, &events[i])
	}
	return append(buf, ']')
}

// appendEvent encodes a validated event by hand: encoding/json would reflect
// over every event and allocate for every property, and the Batcher encodes
// millions.
func appendEvent(buf []byte, e *Event) []byte {
	buf = append(buf, `{"uniqueId":`...)
	buf = appendJSONString(buf, e.UniqueID)
	buf = append(buf, `,"account":`...)
	buf = appendJSONString(buf, e.Account)
	buf = append(buf, `,"eventName":`...)
	buf = appendJSONString(buf, e.EventName)
	buf = append(buf, `,"timestamp":"`...)
	buf = e.Timestamp.UTC().AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, '"')
	if len(e.Properties) > 0 {
		buf = append(buf, `,"properties":{`...)
		var stack [MaxEventProperties]string
		keys := stack[:0]
		for k := range e.Properties {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				buf = append(buf, ',')
			}
			buf = appendJSONString(buf, k)
			buf = append(buf, ':')
			buf = appendProperty(buf, e.Properties[k])
		}
		buf = append(buf, '}')
	}
	return append(buf, '}')
}

func appendProperty(buf []byte, v any) []byte {
	switch x := v.(type) {
	case string:
		return appendJSONString(buf, x)
	case int:
		return strconv.AppendInt(buf, int64(x), 10)
	case int8:
		return strconv.AppendInt(buf, int64(x), 10)
	case int16:
		return strconv.AppendInt(buf, int64(x), 10)
	case int32:
		return strconv.AppendInt(buf, int64(x), 10)
	case int64:
		return strconv.AppendInt(buf, x, 10)
	case uint:
		return strconv.AppendUint(buf, uint64(x), 10)
	case uint8:
		return strconv.AppendUint(buf, uint64(x), 10)
	case uint16:
		return strconv.AppendUint(buf, uint64(x), 10)
	case uint32:
		return strconv.AppendUint(buf, uint64(x), 10)
	case uint64:
		return strconv.AppendUint(buf, x, 10)
	case float32:
		return appendFloat(buf, float64(x), 32)
	case float64:
		return appendFloat(buf, x, 64)
	case json.Number:
		return append(buf, x...)
	case decimal.Decimal:
		return append(buf, x.String()...)
	}
	// Unreachable for validated events; null keeps the JSON well-formed.
	return append(buf, "null"...)
}

// appendFloat writes a finite float the way encoding/json does: plain
// notation for everyday magnitudes, exponent form for tiny or huge ones.
func appendFloat(buf []byte, f float64, bits int) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	return strconv.AppendFloat(buf, f, format, -1, bits)
}

const hexDigits = "0123456789abcdef"

// appendJSONString writes s as a JSON string. Events are validated first, so
// s is valid UTF-8; should invalid bytes reach it anyway they become U+FFFD,
// as encoding/json does, so that the output is always valid JSON.
func appendJSONString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch c {
			case '"', '\\':
				buf = append(buf, '\\', c)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			case '\t':
				buf = append(buf, '\\', 't')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i++
			start = i
			continue
		}
		// U+2028 and U+2029 are valid JSON but break JavaScript that evals it.
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// validJSONNumber checks the JSON number grammar:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	return i == len(s)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// decodeEvent reads an event back from its JSON. Numbers come back as
// json.Number, so that they are sent again digit for digit.
func decodeEvent(payload []byte) (Event, error) {
	var e Event
	d := json.NewDecoder(bytes.NewReader(payload))
	d.UseNumber()
	if err := d.Decode(&e); err != nil {
		return Event{}, err
	}
	if _, err := d.Token(); err != io.EOF {
		return Event{}, errors.New("data after the event")
	}
	if p := e.problems(); len(p) > 0 {
		return Event{}, &ValidationError{Problems: p}
	}
	return e, nil
}
