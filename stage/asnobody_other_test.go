//go:build !linux

package stage_test

import "testing"

// runAsNobody is only implemented on Linux.
func runAsNobody(*testing.T, string) bool { return false }
