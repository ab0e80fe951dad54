//! Puppet's scopes: the top scope, class and define scopes whose parent is the top scope (no
//! dynamic scoping), lambda scopes that see where they were written, and the match variables
//! `$0..$n` a regex match sets.

use std::collections::HashMap;

use super::catalog::ResourceId;
use super::value::Value;

/// Index of a frame in the stack.
pub type FrameId = usize;

/// Resource defaults (`Mcollective { tries => 3 }`) in effect: type → attribute → value.
pub type Defaults = HashMap<String, Vec<(String, Value)>>;

#[derive(Debug, Default)]
pub struct Frame {
    pub vars: HashMap<String, Value>,
    /// Where names not found here are looked for.
    pub parent: Option<FrameId>,
    /// The class or define instance that contains resources declared here.
    pub container: Option<ResourceId>,
    /// The class whose variables these are (`$app::port` reads them).
    pub class_name: Option<String>,
    pub defaults: Defaults,
    /// `$0`, `$1`, ... of the last match in this scope.
    pub matches: Option<Vec<Value>>,
}

#[derive(Debug)]
pub struct Scopes {
    frames: Vec<Frame>,
    pub current: FrameId,
    /// Variables of classes already evaluated.
    class_vars: HashMap<String, HashMap<String, Value>>,
}

/// Why a variable cannot be assigned.
pub enum AssignError {
    Reassigned,
    OtherNamespace,
    Numeric,
}

impl Scopes {
    pub fn new() -> Scopes {
        Scopes {
            frames: vec![Frame::default()],
            current: 0,
            class_vars: HashMap::new(),
        }
    }

    /// Enters a new scope; returns the frame to go back to.
    pub fn push(&mut self, frame: Frame) -> FrameId {
        let previous = self.current;
        self.frames.push(frame);
        self.current = self.frames.len() - 1;
        previous
    }

    /// Leaves the current scope (which must be the newest), keeping a class's variables.
    pub fn pop(&mut self, previous: FrameId) {
        if let Some(frame) = self.frames.pop() {
            if let Some(class) = frame.class_name {
                self.class_vars.insert(class, frame.vars);
            }
        }
        self.current = previous;
    }

    pub fn frame(&self) -> &Frame {
        &self.frames[self.current]
    }

    pub fn frame_mut(&mut self) -> &mut Frame {
        &mut self.frames[self.current]
    }

    pub fn top_mut(&mut self) -> &mut Frame {
        &mut self.frames[0]
    }

    /// The variables of a class evaluated already.
    pub fn class_vars(&self, class: &str) -> Option<HashMap<String, Value>> {
        self.class_vars.get(class).cloned()
    }

    /// The value of `$name`, or `None` when no scope has it.
    pub fn lookup(&self, name: &str) -> Option<Value> {
        if let Some(rest) = name.strip_prefix("::") {
            if !rest.contains("::") {
                return self.frames[0].vars.get(rest).cloned();
            }
            return self.lookup_qualified(rest);
        }
        if name.contains("::") {
            return self.lookup_qualified(name);
        }
        if let Ok(n) = name.parse::<usize>() {
            return Some(self.match_group(n));
        }
        let mut id = Some(self.current);
        while let Some(frame_id) = id {
            let frame = &self.frames[frame_id];
            if let Some(value) = frame.vars.get(name) {
                return Some(value.clone());
            }
            id = frame.parent;
        }
        None
    }

    fn lookup_qualified(&self, name: &str) -> Option<Value> {
        let (class, var) = name.rsplit_once("::")?;
        let class = class.to_lowercase();
        if let Some(vars) = self.class_vars.get(&class) {
            return vars.get(var).cloned();
        }
        // A class still being evaluated (reading its own qualified variables).
        self.frames
            .iter()
            .find(|f| f.class_name.as_deref() == Some(class.as_str()))
            .and_then(|f| f.vars.get(var).cloned())
    }

    /// `$n` of the nearest match in scope; `undef` when there is none.
    fn match_group(&self, n: usize) -> Value {
        let mut id = Some(self.current);
        while let Some(frame_id) = id {
            let frame = &self.frames[frame_id];
            if let Some(groups) = &frame.matches {
                return groups.get(n).cloned().unwrap_or(Value::Undef);
            }
            id = frame.parent;
        }
        Value::Undef
    }

    pub fn assign(&mut self, name: &str, value: Value) -> Result<(), AssignError> {
        if name.contains("::") {
            return Err(AssignError::OtherNamespace);
        }
        if name.chars().all(|c| c.is_ascii_digit()) {
            return Err(AssignError::Numeric);
        }
        let frame = self.frame_mut();
        if frame.vars.contains_key(name) {
            return Err(AssignError::Reassigned);
        }
        frame.vars.insert(name.to_string(), value);
        Ok(())
    }

    /// Sets the match variables of the current scope; returns what they were, to restore.
    pub fn set_matches(&mut self, groups: Option<Vec<Value>>) -> Option<Vec<Value>> {
        std::mem::replace(&mut self.frame_mut().matches, groups)
    }

    /// The resource defaults in effect here: the current frame's, then its parents'.
    pub fn defaults_for(&self, type_name: &str) -> Vec<(String, Value)> {
        let mut found: Vec<(String, Value)> = Vec::new();
        let mut id = Some(self.current);
        while let Some(frame_id) = id {
            let frame = &self.frames[frame_id];
            if let Some(attrs) = frame.defaults.get(type_name) {
                for (name, value) in attrs {
                    if !found.iter().any(|(n, _)| n == name) {
                        found.push((name.clone(), value.clone()));
                    }
                }
            }
            id = frame.parent;
        }
        found
    }

    /// Every default in effect here, for a define instance to inherit (Puppet's defaults
    /// reach into the defines a scope declares).
    pub fn all_defaults(&self) -> Defaults {
        let mut all = Defaults::new();
        let mut chain = Vec::new();
        let mut id = Some(self.current);
        while let Some(frame_id) = id {
            chain.push(frame_id);
            id = self.frames[frame_id].parent;
        }
        for frame_id in chain.into_iter().rev() {
            for (type_name, attrs) in &self.frames[frame_id].defaults {
                let entry = all.entry(type_name.clone()).or_default();
                for (name, value) in attrs {
                    entry.retain(|(n, _)| n != name);
                    entry.push((name.clone(), value.clone()));
                }
            }
        }
        all
    }
}
