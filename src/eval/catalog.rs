//! The catalog an evaluation produces: resources with their parameters, what contains them,
//! and the relationships between them. The step graph is built from it.

use std::collections::HashMap;

use indexmap::IndexMap;

use super::types::capitalize_type_name;
use super::value::Value;
use super::Origin;

/// Index of a resource in `Catalog::resources`.
pub type ResourceId = usize;

#[derive(Debug, Clone)]
pub struct Resource {
    /// Lower case, as declared: `mcollective`, `app::update`, `class`.
    pub type_name: String,
    pub title: String,
    pub params: IndexMap<String, Value>,
    /// Where each parameter was written, to point at a bad one.
    pub param_origins: HashMap<String, Origin>,
    /// The define instance or class whose body declared it.
    pub container: Option<ResourceId>,
    /// Define instances and classes contain steps; they are not steps themselves.
    pub is_container: bool,
    pub origin: Origin,
    /// Its own tags: the `tag` metaparameter's, and those `tag()` gave it in its body.
    pub tags: Vec<String>,
}

impl Resource {
    /// `Mcollective[update_bravo]`, as Puppet names a resource in its output.
    pub fn reference(&self) -> String {
        if self.type_name == "class" {
            return format!("Class[{}]", capitalize_type_name(&self.title));
        }
        format!("{}[{}]", capitalize_type_name(&self.type_name), self.title)
    }
}

/// Which way a relationship points: `before`/`->` order and make the target depend on the
/// source; `notify`/`~>` do the same (a step has nothing to refresh).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    Before,
    Notify,
}

#[derive(Debug, Clone)]
pub struct Edge {
    pub from: ResourceId,
    pub to: ResourceId,
    pub kind: EdgeKind,
    /// Where the arrow or metaparameter was written.
    pub origin: Origin,
}

#[derive(Debug, Default)]
pub struct Catalog {
    pub resources: Vec<Resource>,
    pub edges: Vec<Edge>,
    index: HashMap<(String, String), ResourceId>,
}

impl Catalog {
    /// Adds a resource; a resource with the same type and title is returned as the error.
    pub fn add(&mut self, resource: Resource) -> Result<ResourceId, ResourceId> {
        let key = (resource.type_name.clone(), resource.title.clone());
        if let Some(existing) = self.index.get(&key) {
            return Err(*existing);
        }
        let id = self.resources.len();
        self.index.insert(key, id);
        self.resources.push(resource);
        Ok(id)
    }

    /// The resource of this type (any case) and title.
    pub fn find(&self, type_name: &str, title: &str) -> Option<ResourceId> {
        self.index
            .get(&(type_name.to_lowercase(), title.to_string()))
            .copied()
    }

    pub fn get(&self, id: ResourceId) -> &Resource {
        &self.resources[id]
    }

    pub fn get_mut(&mut self, id: ResourceId) -> &mut Resource {
        &mut self.resources[id]
    }

    /// The containers from the outermost down to `id` itself.
    pub fn path(&self, id: ResourceId) -> Vec<ResourceId> {
        let mut path = vec![id];
        let mut current = self.resources[id].container;
        while let Some(container) = current {
            path.push(container);
            current = self.resources[container].container;
        }
        path.reverse();
        path
    }

    /// `App::Update[bravo]/Mcollective[update_bravo]`: the resource with its containers.
    pub fn path_name(&self, id: ResourceId) -> String {
        self.path(id)
            .into_iter()
            .map(|r| self.resources[r].reference())
            .collect::<Vec<_>>()
            .join("/")
    }
}
