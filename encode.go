package alguna

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/alguna/alguna-go/internal/numlimit"
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

// idOffset is where the uniqueId's text starts in an event's JSON, which
// always begins {"uniqueId":"…: the Batcher reads ids it generated from
// there rather than keeping a string for each.
const idOffset = len(`{"uniqueId":"`)

// appendEvent encodes a validated event as it is: an empty id or a zero
// time is written as such.
func appendEvent(buf []byte, e *Event) []byte {
	buf, _ = encodeEvent(buf, e, false, time.Time{})
	return buf
}

// appendValidEvent checks e and appends its JSON, filling an empty id and a
// zero time (with now) in the JSON only; see encodeEvent.
func appendValidEvent(buf []byte, e *Event, now time.Time) ([]byte, bool) {
	return encodeEvent(buf, e, true, now)
}

// encodeEvent checks e and appends its JSON in one pass over its strings
// and properties: encoding/json would reflect over every event and allocate
// for every property, and the Batcher encodes millions. With fill, an empty
// UniqueID is written as a new random one and a zero Timestamp as now. It
// reports false when e is invalid; e.problems() then says why, and buf must
// be thrown away.
func encodeEvent(buf []byte, e *Event, fill bool, now time.Time) ([]byte, bool) {
	ok := e.Account != "" && e.EventName != "" && len(e.Properties) <= MaxEventProperties
	buf = append(buf, `{"uniqueId":"`...)
	if e.UniqueID == "" && fill {
		buf = appendEventID(buf)
	} else {
		var valid bool
		buf, valid = appendStringBody(buf, e.UniqueID)
		ok = ok && valid && (len(e.UniqueID) <= MaxUniqueIDLength || utf8.RuneCountInString(e.UniqueID) <= MaxUniqueIDLength)
	}
	buf = append(buf, `","account":`...)
	buf, ok = appendCheckedString(buf, e.Account, ok)
	buf = append(buf, `,"eventName":`...)
	buf, ok = appendCheckedString(buf, e.EventName, ok)
	buf = append(buf, `,"timestamp":"`...)
	ts := e.Timestamp
	if ts.IsZero() && fill {
		ts = now
	}
	ts = ts.UTC()
	if y := ts.Year(); y < 1 || y > 9999 {
		// RFC 3339 has four-digit years; such a time cannot be sent.
		ok = false
	}
	buf = appendTimestamp(buf, ts)
	buf = append(buf, '"')
	if len(e.Properties) > 0 && len(e.Properties) <= MaxEventProperties {
		// A few properties fit on the stack; zeroing room for all fifty
		// on every call cost more than encoding two.
		var small [8]property
		props := small[:0]
		if len(e.Properties) > len(small) {
			props = make([]property, 0, len(e.Properties))
		}
		for k, v := range e.Properties {
			props = append(props, property{k, v})
		}
		sortProperties(props)
		buf = append(buf, `,"properties":{`...)
		for i, p := range props {
			if i > 0 {
				buf = append(buf, ',')
			}
			ok = ok && p.k != ""
			buf, ok = appendCheckedString(buf, p.k, ok)
			buf = append(buf, ':')
			var valid bool
			buf, valid = appendProperty(buf, p.v)
			ok = ok && valid
		}
		buf = append(buf, '}')
	}
	return append(buf, '}'), ok
}

// property is one property of an event being encoded.
type property struct {
	k string
	v any
}

// sortProperties sorts by name: by insertion for the few properties most
// events have, which beats a general sort's set-up.
func sortProperties(props []property) {
	if len(props) > 12 {
		slices.SortFunc(props, func(a, b property) int { return strings.Compare(a.k, b.k) })
		return
	}
	for i := 1; i < len(props); i++ {
		for j := i; j > 0 && props[j].k < props[j-1].k; j-- {
			props[j], props[j-1] = props[j-1], props[j]
		}
	}
}

// appendTimestamp appends t (in UTC, with a year of four digits) as RFC
// 3339 with nanoseconds, trailing zeros of the fraction cut, as
// time.RFC3339Nano writes it. The date and time of day are kept for the
// last second written, since most events of a moment share it.
func appendTimestamp(buf []byte, t time.Time) []byte {
	sec := t.Unix()
	c := lastSecond.Load()
	if c == nil || c.unix != sec {
		c = &secondText{unix: sec}
		copy(c.text[:], t.Format("2006-01-02T15:04:05"))
		lastSecond.Store(c)
	}
	buf = append(buf, c.text[:]...)
	if ns := t.Nanosecond(); ns != 0 {
		var frac [10]byte
		frac[0] = '.'
		for i := 9; i >= 1; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 10
		for frac[n-1] == '0' {
			n--
		}
		buf = append(buf, frac[:n]...)
	}
	return append(buf, 'Z')
}

// secondText is one second of UTC time, written as RFC 3339 up to the
// seconds.
type secondText struct {
	unix int64
	text [19]byte
}

var lastSecond atomic.Pointer[secondText]

// appendCheckedString appends s as a JSON string; ok stays true only while
// every string so far was valid UTF-8.
func appendCheckedString(buf []byte, s string, ok bool) ([]byte, bool) {
	buf = append(buf, '"')
	buf, valid := appendStringBody(buf, s)
	return append(buf, '"'), ok && valid
}

// appendProperty appends a property value as JSON, and reports whether it
// is one that events may carry (see Event.Properties).
func appendProperty(buf []byte, v any) ([]byte, bool) {
	switch x := v.(type) {
	case string:
		buf = append(buf, '"')
		buf, ok := appendStringBody(buf, x)
		return append(buf, '"'), ok
	case int:
		return strconv.AppendInt(buf, int64(x), 10), true
	case int8:
		return strconv.AppendInt(buf, int64(x), 10), true
	case int16:
		return strconv.AppendInt(buf, int64(x), 10), true
	case int32:
		return strconv.AppendInt(buf, int64(x), 10), true
	case int64:
		return strconv.AppendInt(buf, x, 10), true
	case uint:
		return strconv.AppendUint(buf, uint64(x), 10), true
	case uint8:
		return strconv.AppendUint(buf, uint64(x), 10), true
	case uint16:
		return strconv.AppendUint(buf, uint64(x), 10), true
	case uint32:
		return strconv.AppendUint(buf, uint64(x), 10), true
	case uint64:
		return strconv.AppendUint(buf, x, 10), true
	case float32:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return buf, false
		}
		return appendFloat(buf, f, 32), true
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return buf, false
		}
		return appendFloat(buf, x, 64), true
	case json.Number:
		if numlimit.Text(string(x)) != nil || !validJSONNumber(string(x)) {
			return buf, false
		}
		return append(buf, x...), true
	case decimal.Decimal:
		if numlimit.Decimal(x) != nil {
			return buf, false
		}
		return append(buf, x.String()...), true
	}
	return buf, false
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

// appendStringBody appends s as the inside of a JSON string, and reports
// whether s is valid UTF-8. Invalid bytes are refused by validation, never
// sent; they are written as U+FFFD, as encoding/json does, only so that the
// output stays valid JSON for the caller to throw away.
func appendStringBody(buf []byte, s string) ([]byte, bool) {
	ok := true
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
			ok = false
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
	return append(buf, s[start:]...), ok
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

// decodeEvent reads an event back from JSON the SDK wrote (for OnFailure,
// or from the spool), and checks that it is one.
func decodeEvent(payload []byte) (Event, error) {
	var e Event
	d := json.NewDecoder(bytes.NewReader(payload))
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
