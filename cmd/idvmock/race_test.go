//go:build race

package main

// raceEnabled: the race detector is on, and makes every call about ten times slower.
const raceEnabled = true
