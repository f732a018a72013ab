//go:build !linux

package campaign

import "testing"

// asNobody runs a test again as another user only on Linux.
func asNobody(*testing.T, string) bool { return false }
