package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestMeteringThroughFaults sends events through a fake that fails a tenth
// of the requests: every event must arrive, exactly once.
func TestMeteringThroughFaults(t *testing.T) {
	t.Setenv("ALGUNA_API_KEY", "")
	var out bytes.Buffer
	require.NoError(t, run([]string{"-n", "3000", "-faults", "0.1"}, &out), out.String())
	require.Contains(t, out.String(), "3000 ingested, 0 failed")
	require.Contains(t, out.String(), "the fake holds 3000 distinct events; units left on the account: 3000")
}
