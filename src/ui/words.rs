//! The templates' `t(key, name=value, ...)`.

use std::sync::Arc;

use minijinja::value::{Kwargs, Object, from_args};
use minijinja::{State, Value};

use crate::i18n::Translator;

/// `t(key, name=value, ...)`: a catalog message in the request's locale. The result is plain
/// text, so the template escapes it like any other value.
#[derive(Debug)]
pub struct Words(pub Translator);

impl Words {
    /// The object templates call as `t`.
    pub fn value(words: &Translator) -> Value {
        Value::from_object(Self(words.clone()))
    }
}

impl Object for Words {
    fn call(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        args: &[Value],
    ) -> Result<Value, minijinja::Error> {
        let (key, kwargs): (String, Kwargs) = from_args(args)?;
        let mut pairs: Vec<(String, String)> = Vec::new();
        for name in kwargs.args() {
            let value: Value = kwargs.get(name)?;
            pairs.push((name.to_owned(), value.to_string()));
        }
        Ok(Value::from(self.0.get(&key, &pairs)))
    }
}
