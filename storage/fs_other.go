//go:build !linux

package storage

import "os"

// allocate is a no-op where fallocate is not available: a store into an
// index page the file system cannot back fails as the platform makes it.
func allocate(*os.File, int64, int64) error { return nil }
