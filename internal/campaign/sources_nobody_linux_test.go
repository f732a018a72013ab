package campaign

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// asNobody runs the test name again as the user nobody when the process
// runs as root (whom permissions do not stop), from a copy of the test
// binary in a directory nobody can use, and reports whether it did so
// (the test then passed or failed with that run).
func asNobody(t *testing.T, name string) bool {
	t.Helper()
	if os.Geteuid() != 0 || os.Getenv("FLOWBAR_TEST_AS_NOBODY") != "" {
		return false
	}
	shared, err := os.MkdirTemp("", "flowbar-campaign-nobody")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(shared)
	if err := os.Chmod(shared, 0o777|os.ModeSticky); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(shared, "campaign.test")
	if err := copyExe(self, exe); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^"+name+"$", "-test.count=1", "-test.v")
	cmd.Dir = shared
	cmd.Env = append(os.Environ(), "FLOWBAR_TEST_AS_NOBODY=1", "TMPDIR="+shared)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+name) {
		t.Fatalf("the test as nobody did not pass (%v):\n%s", err, out)
	}
	t.Logf("passed as nobody:\n%s", out)
	return true
}

func copyExe(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}
