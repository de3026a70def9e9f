//go:build race

package contract

// raceDetector tells the tests that walk many inputs to take fewer under the race detector,
// which makes each about ten times slower.
const raceDetector = true
