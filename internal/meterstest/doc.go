// Package meterstest checks, for the tests of flowbar's packages, that the
// meters of a pipeline that has run add up.
package meterstest
