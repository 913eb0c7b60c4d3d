import { Module } from '@nestjs/common';
import { CsvBodyParser } from './csv-upload';
import { PostsBulkController } from './posts-bulk.controller';
import { exportPoolProvider } from './posts-export.pool';
import { PostsExportService } from './posts-export.service';
import { PostsImportService } from './posts-import.service';
import { PostsController } from './posts.controller';
import { PostsRepository } from './posts.repository';
import { PostsService } from './posts.service';

@Module({
  controllers: [PostsController, PostsBulkController],
  providers: [
    exportPoolProvider,
    PostsRepository,
    PostsService,
    PostsImportService,
    PostsExportService,
    CsvBodyParser,
  ],
  exports: [PostsRepository],
})
export class PostsModule {}
