//! What a node knows about itself from files: its facts (a YAML or JSON mapping) and its
//! classes (Puppet's `classes.txt`). Both are re-read when they change, so a Puppet run that
//! rewrites `classes.txt`, or a cron job refreshing the facts, is seen by the next request.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::{Map, Value};

/// Why a facts or classes file cannot be used (its last good content is kept).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error(transparent)]
    Read(#[from] std::io::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Yaml(#[from] serde_yaml_ng::Error),
    #[error("facts must be a mapping of names to values, not {found}")]
    NotAMapping { found: &'static str },
}

/// A file whose content is kept parsed, with what it looked like when last read.
#[derive(Debug)]
pub struct WatchedFile<T> {
    path: PathBuf,
    /// Modification time, length and inode at the last read: a rewrite changes one of them
    /// (the mtime may be coarse; the length or, for a write-and-rename, the inode still moves).
    stamp: Option<(SystemTime, u64, u64)>,
    value: T,
}

impl<T: Default + PartialEq> WatchedFile<T> {
    /// Reads `path` now; a file that is missing or bad is logged and read as empty until it is
    /// fixed.
    pub fn new(path: PathBuf, parse: impl Fn(&Path, &str) -> Result<T, FileError>) -> Self {
        let mut file = WatchedFile {
            path,
            stamp: None,
            value: T::default(),
        };
        file.refresh(parse);
        file
    }

    pub fn value(&self) -> &T {
        &self.value
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Re-reads the file if it changed since the last read; true when the value changed. A
    /// file that cannot be read or parsed keeps the last good value (a half-written facts
    /// file must not make a node lose its facts), except a deleted file, which empties it.
    pub fn refresh(&mut self, parse: impl Fn(&Path, &str) -> Result<T, FileError>) -> bool {
        let stamp = std::fs::metadata(&self.path)
            .ok()
            .and_then(|meta| Some((meta.modified().ok()?, meta.len(), meta.ino())));
        if stamp == self.stamp {
            return false;
        }
        self.stamp = stamp;
        let Some(_) = stamp else {
            tracing::warn!(path = %self.path.display(), "file is missing; reading it as empty");
            return self.replace(T::default());
        };
        let parsed = std::fs::read_to_string(&self.path)
            .map_err(FileError::from)
            .and_then(|text| parse(&self.path, &text));
        match parsed {
            Ok(value) => self.replace(value),
            Err(error) => {
                tracing::warn!(path = %self.path.display(), %error, "cannot use the file; keeping what it said before");
                false
            }
        }
    }

    fn replace(&mut self, value: T) -> bool {
        let changed = self.value != value;
        self.value = value;
        changed
    }
}

/// Facts: a mapping at the top of a YAML or JSON file (JSON is read as YAML, which it is,
/// except a `.json` file is read strictly as JSON for exact numbers).
pub fn parse_facts(path: &Path, text: &str) -> Result<Map<String, Value>, FileError> {
    let value: Value = if path.extension().is_some_and(|ext| ext == "json") {
        serde_json::from_str(text)?
    } else if text.trim().is_empty() {
        Value::Object(Map::new())
    } else {
        serde_yaml_ng::from_str(text)?
    };
    match value {
        Value::Object(facts) => Ok(facts),
        Value::Null => Ok(Map::new()),
        other => Err(FileError::NotAMapping {
            found: type_name(&other),
        }),
    }
}

/// Classes: Puppet's `classes.txt`, one class name per line; blank lines are skipped. Sorted
/// and without duplicates, as `rpcutil#inventory` reports them.
pub fn parse_classes(_path: &Path, text: &str) -> Result<Vec<String>, FileError> {
    let mut classes: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_string)
        .collect();
    classes.sort();
    classes.dedup();
    Ok(classes)
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn facts_in_yaml_and_json() {
        let yaml = parse_facts(
            Path::new("f.yaml"),
            "cluster: bravo\nprocessors: {count: 4}\n",
        );
        assert_eq!(
            Value::Object(yaml.unwrap()),
            json!({"cluster": "bravo", "processors": {"count": 4}})
        );
        let json = parse_facts(Path::new("f.json"), r#"{"cluster": "alfa", "n": 1.5}"#);
        assert_eq!(
            Value::Object(json.unwrap()),
            json!({"cluster": "alfa", "n": 1.5})
        );
        let list = parse_facts(Path::new("f.yaml"), "- a\n- b\n").unwrap_err();
        assert!(
            matches!(list, FileError::NotAMapping { found: "a list" }),
            "{list}"
        );
        assert!(list.to_string().ends_with("not a list"), "{list}");
        assert!(parse_facts(Path::new("f.json"), "{").is_err());
        assert_eq!(parse_facts(Path::new("f.yaml"), "").unwrap(), Map::new());
    }

    #[test]
    fn classes_txt() {
        let classes = parse_classes(Path::new("c"), "settings\nrole::web\n\nrole::web\n  app \n");
        assert_eq!(classes.unwrap(), ["app", "role::web", "settings"]);
    }

    #[test]
    fn a_watched_file_follows_changes_and_keeps_good_values() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("facts.yaml");
        std::fs::write(&path, "cluster: alfa\n").unwrap();
        let mut facts = WatchedFile::new(path.clone(), parse_facts);
        assert_eq!(facts.value()["cluster"], "alfa");
        assert!(!facts.refresh(parse_facts));
        std::fs::write(&path, "cluster: bravo\n").unwrap();
        assert!(facts.refresh(parse_facts));
        assert_eq!(facts.value()["cluster"], "bravo");
        std::fs::write(&path, "cluster: [unclosed\n").unwrap();
        assert!(!facts.refresh(parse_facts));
        assert_eq!(facts.value()["cluster"], "bravo");
        std::fs::remove_file(&path).unwrap();
        assert!(facts.refresh(parse_facts));
        assert!(facts.value().is_empty());
        let missing = WatchedFile::new(dir.path().join("none.json"), parse_facts);
        assert!(missing.value().is_empty());
    }
}
