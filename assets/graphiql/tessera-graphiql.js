// Starts GraphiQL on Tessera's /graphql page. It is a file of its own, not an
// inline script, so that the page's Content-Security-Policy can allow
// scripts from 'self' only.
(function () {
  'use strict';
  var root = document.getElementById('graphiql');
  var endpoint = root.getAttribute('data-endpoint') || '/graphql';
  var TOKEN_PLACEHOLDER = '<token>';
  var baseFetcher = GraphiQL.createFetcher({ url: endpoint });

  // The headers editor starts with an Authorization template: until a real
  // token replaces the placeholder, the header is left out, so that the
  // first requests (the schema's introspection among them) run anonymously.
  function fetcher(params, options) {
    var headers = {};
    var given = (options && options.headers) || {};
    Object.keys(given).forEach(function (name) {
      var value = given[name];
      var placeholder = name.toLowerCase() === 'authorization' && String(value).indexOf(TOKEN_PLACEHOLDER) !== -1;
      if (!placeholder) headers[name] = value;
    });
    return baseFetcher(params, Object.assign({}, options, { headers: headers }));
  }

  var defaultQuery = [
    '# Welcome to Tessera. Sign up and sign in with mutations, then put the',
    '# access token in the Headers tab below:',
    '#   {"Authorization": "Bearer <accessToken>"}',
    '',
    '{',
    '  me {',
    '    id',
    '    username',
    '  }',
    '}',
    '',
  ].join('\n');

  ReactDOM.createRoot(root).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultHeaders: JSON.stringify({ Authorization: 'Bearer ' + TOKEN_PLACEHOLDER }, null, 2),
      headerEditorEnabled: true,
      shouldPersistHeaders: false,
      defaultEditorToolsVisibility: 'headers',
    }),
  );
})();
