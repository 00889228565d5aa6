package alguna

import (
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

// Event ids come from pooled random buffers; they must still be distinct,
// well-formed version 4 UUIDs, from any number of goroutines.
func TestEventIDsAreDistinctRandomUUIDs(t *testing.T) {
	const goroutines, each = 4, 5000
	var mu sync.Mutex
	seen := make(map[string]bool, goroutines*each)
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ids := make([]string, each)
			for i := range ids {
				ids[i] = newEventID()
			}
			mu.Lock()
			defer mu.Unlock()
			for _, id := range ids {
				require.False(t, seen[id], "id %s handed out twice", id)
				seen[id] = true
			}
		}()
	}
	wg.Wait()
	require.Len(t, seen, goroutines*each)
	for id := range seen {
		u, err := uuid.Parse(id)
		require.NoError(t, err)
		require.Equal(t, uuid.Version(4), u.Version())
		require.Equal(t, uuid.RFC4122, u.Variant())
		require.Equal(t, id, u.String())
	}
}
