"""The build's steps, one module each, in the order :data:`triggerml.compile.build.STEPS` runs
them: load → convert → write → csim → export → verify (emulation), then the manifest."""
