//! The executor behind `imsform apply`: the journal, bounded concurrency, progress, interrupts.
