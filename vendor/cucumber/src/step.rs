// Copyright (c) 2018-2026  Brendan Molloy <brendan@bbqsrc.net>,
//                          Ilya Solovyiov <ilya.solovyiov@gmail.com>,
//                          Kai Ren <tyranron@gmail.com>
//
// Licensed under the Apache License, Version 2.0 <LICENSE-APACHE or
// http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your
// option. This file may not be copied, modified, or distributed
// except according to those terms.

//! Definitions for a [`Collection`] which is used to store [`Step`] [`Fn`]s and
//! corresponding [`Regex`] patterns.
//!
//! [`Step`]: gherkin::Step

use std::{
    cmp::Ordering,
    collections::HashMap,
    fmt,
    hash::{Hash, Hasher},
    iter,
    sync::{Arc, PoisonError, RwLock},
};

use derive_more::with_trait::{Debug, Deref, DerefMut, Display, Error};
use futures::future::LocalBoxFuture;
use gherkin::StepType;
use itertools::Itertools as _;
use regex::Regex;

/// Alias for a [`gherkin::Step`] function that returns a [`LocalBoxFuture`].
pub type Step<World> =
    for<'a> fn(&'a mut World, Context) -> LocalBoxFuture<'a, ()>;

/// Alias for a [`Step`] with [`regex::CaptureLocations`], [`Location`] and
/// [`Context`] returned by [`Collection::find()`].
pub type WithContext<'me, World> =
    (&'me Step<World>, regex::CaptureLocations, Option<Location>, Context);

/// Collection of [`Step`]s.
///
/// Every [`Step`] has to match with exactly 1 [`Regex`].
#[derive(Debug)]
pub struct Collection<World> {
    /// Collection of [Given] [`Step`]s.
    ///
    /// [Given]: https://cucumber.io/docs/gherkin/reference#given
    #[debug("{:?}",
        given.iter()
            .map(|(re, step)| (re, format!("{step:p}")))
            .collect::<HashMap<_, _>>(),
    )]
    given: HashMap<(HashableRegex, Option<Location>), Step<World>>,

    /// Collection of [When] [`Step`]s.
    ///
    /// [When]: https://cucumber.io/docs/gherkin/reference#when
    #[debug("{:?}",
        when.iter()
            .map(|(re, step)| (re, format!("{step:p}")))
            .collect::<HashMap<_, _>>(),
    )]
    when: HashMap<(HashableRegex, Option<Location>), Step<World>>,

    /// Collection of [Then] [`Step`]s.
    ///
    /// [Then]: https://cucumber.io/docs/gherkin/reference#then
    #[debug("{:?}",
        then.iter()
            .map(|(re, step)| (re, format!("{step:p}")))
            .collect::<HashMap<_, _>>(),
    )]
    then: HashMap<(HashableRegex, Option<Location>), Step<World>>,

    /// Patched: what [`Collection::find()`] found for each step text it was asked about.
    /// Shared by the clones of a collection (they hold the same patterns); a step added to a
    /// collection gives it a memo of its own.
    #[debug(skip)]
    memo: Arc<Memo>,
}

/// Patched: what [`Collection::find()`] found for a step's kind and text, so that a text met
/// again is not searched again. Bounded: past [`Memo::CAPACITY`] texts a kind, nothing more is
/// kept.
#[derive(Default)]
struct Memo(RwLock<[HashMap<String, Found>; 3]>);

/// Patched: one [`Collection::find()`] answer, as the memo keeps it.
#[derive(Clone)]
enum Found {
    /// No pattern matches.
    Nothing,
    /// One pattern matches: its key in the collection, its capture locations and matches.
    One {
        key: Arc<(HashableRegex, Option<Location>)>,
        captures: regex::CaptureLocations,
        matches: Vec<(CaptureName, String)>,
    },
    /// More than one pattern matches.
    Ambiguous(AmbiguousMatchError),
}

impl Memo {
    /// Distinct step texts kept a kind; a suite has a few hundred.
    const CAPACITY: usize = 16_384;

    const fn kind(ty: StepType) -> usize {
        match ty {
            StepType::Given => 0,
            StepType::When => 1,
            StepType::Then => 2,
        }
    }

    fn get(&self, ty: StepType, text: &str) -> Option<Found> {
        let kinds = self.0.read().unwrap_or_else(PoisonError::into_inner);
        kinds[Self::kind(ty)].get(text).cloned()
    }

    fn keep(&self, ty: StepType, text: &str, found: &Found) {
        let mut kinds = self.0.write().unwrap_or_else(PoisonError::into_inner);
        let texts = &mut kinds[Self::kind(ty)];
        if texts.len() < Self::CAPACITY {
            drop(texts.insert(text.to_owned(), found.clone()));
        }
    }
}

// Implemented manually to omit redundant `World: Clone` trait bound, imposed by
// `#[derive(Clone)]`.
impl<World> Clone for Collection<World> {
    fn clone(&self) -> Self {
        Self {
            given: self.given.clone(),
            when: self.when.clone(),
            then: self.then.clone(),
            memo: Arc::clone(&self.memo),
        }
    }
}

// Implemented manually to omit redundant `World: Default` trait bound, imposed
// by `#[derive(Default)]`.
impl<World> Default for Collection<World> {
    fn default() -> Self {
        Self {
            given: HashMap::new(),
            when: HashMap::new(),
            then: HashMap::new(),
            memo: Arc::default(),
        }
    }
}

impl<World> Collection<World> {
    /// Creates a new empty [`Collection`].
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a [Given] [`Step`] matching the given `regex`.
    ///
    /// [Given]: https://cucumber.io/docs/gherkin/reference#given
    #[must_use]
    pub fn given(
        mut self,
        loc: Option<Location>,
        regex: Regex,
        step: Step<World>,
    ) -> Self {
        _ = self.given.insert((regex.into(), loc), step);
        self.memo = Arc::default();
        self
    }

    /// Adds a [When] [`Step`] matching the given `regex`.
    ///
    /// [When]: https://cucumber.io/docs/gherkin/reference#when
    #[must_use]
    pub fn when(
        mut self,
        loc: Option<Location>,
        regex: Regex,
        step: Step<World>,
    ) -> Self {
        _ = self.when.insert((regex.into(), loc), step);
        self.memo = Arc::default();
        self
    }

    /// Adds a [Then] [`Step`] matching the given `regex`.
    ///
    /// [Then]: https://cucumber.io/docs/gherkin/reference#then
    #[must_use]
    pub fn then(
        mut self,
        loc: Option<Location>,
        regex: Regex,
        step: Step<World>,
    ) -> Self {
        _ = self.then.insert((regex.into(), loc), step);
        self.memo = Arc::default();
        self
    }

    /// Returns a [`Step`] function matching the given [`gherkin::Step`], if
    /// any.
    ///
    /// # Errors
    ///
    /// If the given [`gherkin::Step`] matches multiple [`Regex`]es.
    pub fn find(
        &self,
        step: &gherkin::Step,
    ) -> Result<Option<WithContext<'_, World>>, AmbiguousMatchError> {
        let collection = match step.ty {
            StepType::Given => &self.given,
            StepType::When => &self.when,
            StepType::Then => &self.then,
        };
        // Patched: a step text met before is answered from the memo.
        let found = if let Some(found) = self.memo.get(step.ty, &step.value) {
            found
        } else {
            let found = Self::search(collection, &step.value);
            self.memo.keep(step.ty, &step.value, &found);
            found
        };
        match found {
            Found::Nothing => Ok(None),
            Found::Ambiguous(e) => Err(e),
            Found::One { key, captures, matches } => {
                let Some(((_, loc), step_fn)) = collection.get_key_value(&*key)
                else {
                    // The memo is the collection's own: its keys are there.
                    return Ok(None);
                };
                Ok(Some((
                    step_fn,
                    captures,
                    *loc,
                    Context { step: step.clone(), matches },
                )))
            }
        }
    }

    /// Patched: the patterns of one kind that match `text`, searched.
    fn search(
        collection: &HashMap<(HashableRegex, Option<Location>), Step<World>>,
        text: &str,
    ) -> Found {
        // Patched: a pattern is ruled out by the text its matches start with, then by
        // `is_match`, which allocates no capture slots; only the patterns that match
        // (normally one) have their captures read.
        let mut captures = collection
            .keys()
            .filter(|(re, _)| {
                text.starts_with(re.literal_prefix()) && re.is_match(text)
            })
            .filter_map(|(re, loc)| {
                let mut captures = re.capture_locations();
                let names = re.capture_names();
                re.captures_read(&mut captures, text)
                    .map(|m| (re, loc, m, captures, names))
            })
            .collect::<Vec<_>>();

        let (re, loc, whole_match, captures, names) = match captures.len() {
            0 => return Found::Nothing,
            // Instead of `.unwrap()` to avoid documenting `# Panics`.
            1 => captures.pop().unwrap_or_else(|| unreachable!()),
            _ => {
                return Found::Ambiguous(AmbiguousMatchError {
                    possible_matches: captures
                        .into_iter()
                        .map(|(re, loc, ..)| (re.clone(), *loc))
                        .sorted()
                        .collect(),
                });
            }
        };

        #[expect( // intentional
            clippy::string_slice,
            reason = "all indices are obtained from the source string"
        )]
        let matches = names
            .map(|opt| opt.map(str::to_owned))
            .zip(iter::once(whole_match.as_str().to_owned()).chain(
                (1..captures.len()).map(|group_id| {
                    captures
                        .get(group_id)
                        .map_or("", |(s, e)| &text[s..e])
                        .to_owned()
                }),
            ))
            .collect();

        Found::One {
            key: Arc::new((re.clone(), *loc)),
            captures,
            matches,
        }
    }
}

/// Name of a capturing group inside a [`regex`].
pub type CaptureName = Option<String>;

/// Context for a [`Step`] function execution.
#[derive(Clone, Debug)]
pub struct Context {
    /// [`Step`] matched to a [`Step`] function.
    ///
    /// [`Step`]: gherkin::Step
    pub step: gherkin::Step,

    /// [`Regex`] matches of a [`Step::value`].
    ///
    /// [`Step::value`]: gherkin::Step::value
    pub matches: Vec<(CaptureName, String)>,
}

/// Error of a [`gherkin::Step`] matching multiple [`Step`] [`Regex`]es inside a
/// [`Collection`].
#[derive(Clone, Debug, Error)]
pub struct AmbiguousMatchError {
    /// Possible [`Regex`]es the [`gherkin::Step`] matches.
    pub possible_matches: Vec<(HashableRegex, Option<Location>)>,
}

impl Display for AmbiguousMatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Possible matches:")?;
        for (reg, loc_opt) in &self.possible_matches {
            write!(f, "\n{reg}")?;
            if let Some(loc) = loc_opt {
                write!(f, " --> {loc}")?;
            }
        }
        Ok(())
    }
}

/// Location of a [`Step`] [`fn`] automatically filled by a proc macro.
#[derive(Clone, Copy, Debug, Display, Eq, Hash, Ord, PartialEq, PartialOrd)]
#[display("{path}:{line}:{column}")]
pub struct Location {
    /// Path to the file where [`Step`] [`fn`] is located.
    pub path: &'static str,

    /// Line of the file where [`Step`] [`fn`] is located.
    pub line: u32,

    /// Column of the file where [`Step`] [`fn`] is located.
    pub column: u32,
}

/// [`Regex`] wrapper implementing [`Eq`], [`Ord`] and [`Hash`].
///
/// Patched: it also keeps the text every match of the pattern starts with, as far as it can be
/// read off the pattern (see [`literal_prefix()`]), for [`Collection::find()`] to rule the
/// pattern out with a comparison.
#[derive(Clone, Debug, Deref, DerefMut, Display)]
#[display("{_0}")]
pub struct HashableRegex(
    #[deref]
    #[deref_mut]
    Regex,
    #[debug(skip)] Box<str>,
);

impl HashableRegex {
    /// Patched: the text every match starts with (possibly empty).
    #[must_use]
    pub fn literal_prefix(&self) -> &str {
        &self.1
    }
}

impl From<Regex> for HashableRegex {
    fn from(re: Regex) -> Self {
        let prefix = literal_prefix(re.as_str()).into_boxed_str();
        Self(re, prefix)
    }
}

/// Patched: the text every match of `pattern` starts with, as far as it can be read off
/// plainly: after a leading `^`, the characters up to the first one with a meaning in a
/// pattern, less the last of them when a quantifier follows it. Empty when the pattern is not
/// anchored at its start, or has an alternation outside every group (`^a|b` matches what
/// starts with `b`; `^a(?:b|c)` starts with `a`).
fn literal_prefix(pattern: &str) -> String {
    let Some(rest) = pattern.strip_prefix('^') else {
        return String::new();
    };
    if has_top_level_alternation(pattern) {
        return String::new();
    }
    let mut prefix = String::new();
    for c in rest.chars() {
        match c {
            '?' | '*' | '+' | '{' => {
                _ = prefix.pop();
                break;
            }
            '\\' | '.' | '^' | '$' | '(' | ')' | '[' | ']' | '}' | '#' => break,
            c if c.is_whitespace() && c != ' ' => break,
            c => prefix.push(c),
        }
    }
    prefix
}

/// Patched: whether `pattern` has a `|` outside every group and character class (escapes
/// skipped). It misreads a class that begins with `]` (`[]a]`), which no pattern of cucumber
/// expressions has; the project's tests run every step of its features through
/// [`Collection::find()`].
fn has_top_level_alternation(pattern: &str) -> bool {
    let mut depth = 0_usize;
    let mut in_class = false;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => _ = chars.next(),
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class => depth += 1,
            ')' if !in_class => depth = depth.saturating_sub(1),
            '|' if !in_class && depth == 0 => return true,
            _ => {}
        }
    }
    false
}

impl Hash for HashableRegex {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.as_str().hash(state);
    }
}

impl PartialEq for HashableRegex {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

impl Eq for HashableRegex {}

impl PartialOrd for HashableRegex {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for HashableRegex {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.as_str().cmp(other.0.as_str())
    }
}
