package alguna_test

import (
	"fmt"
	"net/http"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/alguna/alguna-go"
)

// BenchmarkBatcherSpool is BenchmarkBatcherInMemory with the spool off and
// on, side by side at the same number of producers. With the spool on,
// every Enqueue waits for an fsync that it shares with the Enqueue calls
// waiting alongside it, so throughput grows with the producers; the
// fsyncs/1000events metric shows how many each fsync carried. Delivery is
// in memory, so the figures are the SDK's and the disk's, not a network's.
func BenchmarkBatcherSpool(b *testing.B) {
	for _, par := range []int{1, 8, 64} {
		for _, spool := range []bool{false, true} {
			name := fmt.Sprintf("producers=%d/spool=%v", par*runtime.GOMAXPROCS(0), spool)
			b.Run(name, func(b *testing.B) {
				tr := &answerTransport{answer: []byte(`{"ingested":[],"failed":[]}`)}
				c, err := alguna.NewClient("k", alguna.WithHTTPClient(&http.Client{Transport: tr}))
				require.NoError(b, err)
				var o alguna.BatcherOptions
				if spool {
					o.SpoolDir = b.TempDir()
				}
				b.SetParallelism(par)
				st := benchmarkBatcher(b, c, o, tr.events.Load)
				if spool {
					b.ReportMetric(float64(st.Syncs)*1000/float64(b.N), "fsyncs/1000events")
				}
			})
		}
	}
}
