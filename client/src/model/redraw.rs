//! [`Redraw`]: the drawing work collected between two animation frames.

/// Beyond this many changed candles in one frame, redrawing all is cheaper.
const MAX_CHANGED: usize = 256;

/// What the chart must redraw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Redraw {
    /// Set all the data again.
    full: bool,
    /// Then show the newest candles (a new series), rather than keeping the
    /// user's view.
    fit: bool,
    /// Open times of the candles changed, in the order they changed.
    changed: Vec<i64>,
}

impl Redraw {
    /// Everything, then the newest candles in view: a new series.
    #[must_use]
    pub const fn initial() -> Self {
        Self {
            full: true,
            fit: true,
            changed: Vec::new(),
        }
    }

    /// Whether all the data is to be set again.
    #[must_use]
    pub const fn is_full(&self) -> bool {
        self.full
    }

    /// Whether the view moves to the newest candles.
    #[must_use]
    pub const fn fit(&self) -> bool {
        self.fit
    }

    /// Whether there is nothing to draw.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        !self.full && self.changed.is_empty()
    }

    /// The open times of the changed candles, when not [`Redraw::is_full`].
    #[must_use]
    pub fn changed(&self) -> &[i64] {
        &self.changed
    }

    /// All the data is to be set again, keeping the view.
    pub fn set_full(&mut self) {
        self.full = true;
        self.changed.clear();
    }

    /// The candle opening at `open_time` changed.
    pub fn mark(&mut self, open_time: i64) {
        if self.full || self.changed.last() == Some(&open_time) {
            return;
        }
        if self.changed.len() >= MAX_CHANGED {
            self.set_full();
        } else {
            self.changed.push(open_time);
        }
    }
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    #[wasm_bindgen_test]
    fn collects_changes_until_a_full_redraw_is_cheaper() {
        let mut r = Redraw::default();
        assert!(r.is_empty());
        r.mark(60);
        r.mark(60);
        r.mark(0);
        assert_eq!(r.changed(), [60, 0]);
        for t in 0..300 {
            r.mark(t * 60);
        }
        assert!(r.is_full() && !r.fit() && r.changed().is_empty());
        assert!(Redraw::initial().fit());
    }
}
