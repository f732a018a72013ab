// Package nobody lets a test of flowbar's packages that needs permissions
// to stop its user (an unreadable directory) run where the tests run as
// root, whom permissions do not stop: [Rerun] runs the test again in a copy
// of the test binary as the user nobody.
package nobody
