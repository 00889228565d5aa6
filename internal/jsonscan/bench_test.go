package jsonscan

import (
	"fmt"
	"strings"
	"testing"
)

// invoiceBody is an object shaped like a large webhook: an invoice with
// many line items of short strings, about size bytes.
func invoiceBody(size int) []byte {
	var b strings.Builder
	b.WriteString(`{"type":"invoice.paid","timestamp":"2025-03-09T15:03:17Z","data":{"id":"inv_8f2k","accountId":"acc_abc123","status":"paid","lines":[`)
	for i := 0; b.Len() < size-100; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"li_%06d","description":"API calls, tier 2","quantity":"15000","amount":"12.90"}`, i)
	}
	b.WriteString(`]}}`)
	return []byte(b.String())
}

// BenchmarkObject measures the scan Verify makes of a webhook envelope.
func BenchmarkObject(b *testing.B) {
	body := invoiceBody(64 << 10)
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := Object(body, func(_, _ []byte) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
