//! Keeps the default panic hook quiet while any run is under way: a failed step is a panic
//! that the scenario records report, and several runs may overlap (the self-test).

pub struct PanicSilence;

type PanicHook = Box<dyn Fn(&std::panic::PanicHookInfo<'_>) + Sync + Send + 'static>;

static SILENCED: std::sync::Mutex<(usize, Option<PanicHook>)> = std::sync::Mutex::new((0, None));

impl PanicSilence {
    /// Silences the hook until the returned guard is dropped (and no other run is under way).
    pub fn begin() -> PanicSilence {
        let mut s = SILENCED.lock().unwrap_or_else(|e| e.into_inner());
        if s.0 == 0 {
            s.1 = Some(std::panic::take_hook());
            std::panic::set_hook(Box::new(|_| {}));
        }
        s.0 += 1;
        PanicSilence
    }
}

impl Drop for PanicSilence {
    fn drop(&mut self) {
        let mut s = SILENCED.lock().unwrap_or_else(|e| e.into_inner());
        s.0 = s.0.saturating_sub(1);
        if s.0 == 0
            && let Some(previous) = s.1.take()
        {
            std::panic::set_hook(previous);
        }
    }
}
