//! A bounded map for values that never go stale (a parsed document under
//! the hash of its text, the claims of a token whose signature checked out):
//! nothing here needs invalidating, only a bound on memory.
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

/// Two generations: when the newer one is full it becomes the older one and
/// the oldest entries go. An entry used since the last turn moves back into
/// the newer generation, so what is used all day stays.
pub struct BoundedCache<K, V> {
    capacity: usize,
    generations: Mutex<(HashMap<K, V>, HashMap<K, V>)>,
}

impl<K: Hash + Eq, V: Clone> BoundedCache<K, V> {
    pub fn new(capacity: usize) -> Self {
        BoundedCache { capacity: capacity.max(2), generations: Mutex::new((HashMap::new(), HashMap::new())) }
    }

    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut generations = self.generations.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(found) = generations.0.get(key) {
            return Some(found.clone());
        }
        let (key, found) = generations.1.remove_entry(key)?;
        Self::put(&mut generations, self.capacity, key, found.clone());
        Some(found)
    }

    pub fn insert(&self, key: K, value: V) {
        let mut generations = self.generations.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Self::put(&mut generations, self.capacity, key, value);
    }

    fn put(generations: &mut (HashMap<K, V>, HashMap<K, V>), capacity: usize, key: K, value: V) {
        if generations.0.len() >= capacity / 2 {
            generations.1 = std::mem::take(&mut generations.0);
        }
        generations.0.insert(key, value);
    }

    /// How many entries are kept now.
    pub fn len(&self) -> usize {
        let generations = self.generations.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        generations.0.len() + generations.1.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_bounded_and_keeps_what_is_used() {
        let cache = BoundedCache::new(4);
        cache.insert("kept".to_string(), 0);
        for i in 0..10 {
            cache.insert(format!("k{i}"), i);
            assert_eq!(cache.get("kept"), Some(0));
        }
        assert!(cache.len() <= 4);
        assert_eq!(cache.get("k0"), None);
    }
}
