// s3rver with one extra key pair: the credentials lambdad hands every function
// (AWS_ACCESS_KEY_ID=lambdad, AWS_SECRET_ACCESS_KEY=lambdad), so a function's SigV4 signatures
// are checked for real. Usage: node s3rver.js <directory> <address> <port>
'use strict';
const S3rver = require('s3rver');
const AWSAccount = require('s3rver/lib/models/account');

AWSAccount.DUMMY_ACCOUNT.createKeyPair('lambdad', 'lambdad');
const [directory, address, port] = process.argv.slice(2);
new S3rver({ directory, address, port: Number(port), silent: true })
  .run()
  .then(({ address: a, port: p }) => console.log('s3rver listening on %s:%d', a, p))
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });
