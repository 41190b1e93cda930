package metering_test

import (
	"testing"

	"github.com/wicket-gw/wicket/metering"
	"github.com/wicket-gw/wicket/metering/meteringtest"
)

func TestRecorderConformance(t *testing.T) {
	t.Run("BatchRecorder", func(t *testing.T) {
		meteringtest.RunRecorderTests(t, func(t *testing.T) (metering.Recorder, func() []metering.Event) {
			rec := new(meteringtest.Recorder)
			return rec, rec.Events
		})
	})
	t.Run("RecorderFunc", func(t *testing.T) {
		meteringtest.RunRecorderTests(t, func(t *testing.T) (metering.Recorder, func() []metering.Event) {
			rec := new(meteringtest.Recorder)
			return metering.RecorderFunc(rec.Record), rec.Events
		})
	})
}
