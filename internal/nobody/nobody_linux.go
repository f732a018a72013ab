package nobody

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// env is set in the environment of the run as nobody.
const env = "FLOWBAR_TEST_AS_NOBODY"

// Rerun runs the test named name again as user and group 65534 (nobody)
// when the process runs as root, from a copy of the test binary in a
// temporary directory nobody can use, and reports whether it did: the
// caller returns then, the test having passed or failed with that run.
// The child's output is logged. It returns false when not root, and in the
// run as nobody.
func Rerun(t testing.TB, name string) bool {
	t.Helper()
	if os.Geteuid() != 0 || os.Getenv(env) != "" {
		return false
	}
	shared, err := os.MkdirTemp("", "flowbar-nobody")
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
	exe := filepath.Join(shared, filepath.Base(self))
	if err := copyExe(self, exe); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^"+name+"$", "-test.count=1", "-test.v")
	cmd.Dir = shared
	cmd.Env = append(os.Environ(), env+"=1", "TMPDIR="+shared)
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
