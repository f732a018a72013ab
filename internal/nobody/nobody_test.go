package nobody_test

import (
	"os"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/flowbar/flowbar/internal/nobody"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestUnreadable passes only where permissions stop the user: as nobody
// when the tests run as root.
func TestUnreadable(t *testing.T) {
	if nobody.Rerun(t, "TestUnreadable") {
		return
	}
	dir := filepath.Join(t.TempDir(), "closed")
	if err := os.Mkdir(dir, 0o000); err != nil {
		t.Fatal(err)
	}
	if _, err := os.ReadDir(dir); err == nil {
		t.Skip("permissions do not stop this user")
	}
}
