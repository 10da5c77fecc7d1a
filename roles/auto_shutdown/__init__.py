"""auto_shutdown: a cron-driven idle check that shuts an FPGA host down after N idle readings, and nightly."""
