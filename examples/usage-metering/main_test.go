package main

import (
	"bytes"
	"os"
	"path/filepath"
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

// TestMeteringWithSpool meters through the disk spool; it must end empty.
func TestMeteringWithSpool(t *testing.T) {
	t.Setenv("ALGUNA_API_KEY", "")
	dir := t.TempDir()
	var out bytes.Buffer
	require.NoError(t, run([]string{"-n", "2000", "-producers", "8", "-spool", dir}, &out), out.String())
	require.Contains(t, out.String(), "2000 ingested, 0 failed")
	require.Contains(t, out.String(), "spool: 0 events replayed from an earlier run, 0 kept for the next")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		require.NotEqual(t, ".seg", filepath.Ext(e.Name()), "segment %s left behind", e.Name())
	}
}
